import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';

/**
 * A settings document (GET + PATCH): a local draft, what changed, and a save that sends only the
 * changed fields (the gateway audits each change).
 */
export function useSettingsForm<T extends object>(path: string, key: string) {
  const doc = useQuery({ queryKey: ['settings', key], queryFn: ({ signal }) => api.get<T>(path, undefined, signal) });
  const [draft, setDraft] = useState<T | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const save = useApiMutation((patch: Partial<T>) => api.patch<T>(path, patch), ['settings']);

  useEffect(() => {
    if (doc.data && draft === null) setDraft(doc.data);
  }, [doc.data, draft]);

  const changed: Partial<T> = {};
  if (draft && doc.data) {
    for (const k of Object.keys(draft) as (keyof T)[]) {
      if (JSON.stringify(draft[k]) !== JSON.stringify(doc.data[k])) changed[k] = draft[k];
    }
  }
  const dirty = Object.keys(changed).length > 0;

  return {
    doc,
    draft,
    dirty,
    savedAt,
    save,
    set: <K extends keyof T>(k: K, v: T[K]) => {
      setSavedAt(null);
      setDraft((d) => (d ? { ...d, [k]: v } : d));
    },
    discard: () => {
      save.reset();
      setDraft(doc.data ?? null);
    },
    submit: () => {
      if (!dirty) return;
      save.mutate(changed, {
        onSuccess: (next) => {
          setDraft(next);
          setSavedAt(Date.now());
        },
      });
    },
  };
}

export type SettingsFormState<T extends object> = ReturnType<typeof useSettingsForm<T>>;
