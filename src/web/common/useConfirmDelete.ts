import { useState } from 'react';

interface DeleteMutation<T> {
  reset: () => void;
  mutate: (target: T, options: { onSuccess: () => void }) => void;
  isPending: boolean;
  error: unknown;
}

/**
 * "Delete … ?" flow for a row action: `ask(target)` opens the ConfirmModal (spread `modal` into it)
 * with a fresh mutation state; confirming runs the mutation and closes it on success.
 */
export function useConfirmDelete<T>(remove: DeleteMutation<T>, onDeleted?: () => void) {
  const [target, setTarget] = useState<T | null>(null);
  return {
    target,
    ask: (t: T) => {
      remove.reset();
      setTarget(t);
    },
    modal: {
      opened: target !== null,
      danger: true,
      loading: remove.isPending,
      error: remove.error,
      onClose: () => setTarget(null),
      onConfirm: () =>
        target !== null &&
        remove.mutate(target, {
          onSuccess: () => {
            onDeleted?.();
            setTarget(null);
          },
        }),
    },
  };
}
