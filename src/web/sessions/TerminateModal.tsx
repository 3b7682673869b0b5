import { Alert, Button, Group, Modal, Stack, Text, Textarea } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { SessionRecord } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { IconAlert, IconPlayerStop } from '../common/icons';

/**
 * The red button: ends a live session now. The reason is required; the user sees it on their
 * end screen ("terminated by admin: <reason>") and it goes into the audit log and the recording.
 */
export function TerminateModal({ session, onClose, onDone }: { session: { id: string; username: string; assetName: string } | null; onClose: () => void; onDone?: () => void }) {
  const [reason, setReason] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const terminate = useApiMutation((v: { id: string; reason: string }) => api.post<SessionRecord>(`/sessions/${v.id}/terminate`, { reason: v.reason }), ['sessions']);
  const opened = session !== null;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a fresh form each time it opens
  useEffect(() => {
    if (!opened) return;
    setReason('');
    setSubmitted(false);
    terminate.reset();
  }, [opened]);

  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (!session || !reason.trim()) return;
    terminate.mutate(
      { id: session.id, reason: reason.trim() },
      {
        onSuccess: () => {
          onDone?.();
          onClose();
        },
      },
    );
  }

  const fe = fieldErrors(terminate.error);
  return (
    <Modal opened={opened} onClose={onClose} title={<Text fw={600}>Terminate session</Text>} centered>
      <form onSubmit={submit} noValidate data-testid="terminate-form">
        <Stack>
          <Alert color="red" variant="light" icon={<IconAlert />}>
            <Text size="sm">
              The session of <b>{session?.username}</b> on <b>{session?.assetName}</b> ends at once. They see your name and the reason.
            </Text>
          </Alert>
          <Textarea
            label="Reason"
            description="Shown to the user, written to the audit log and the recording"
            required
            autosize
            minRows={2}
            maxLength={500}
            data-autofocus
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            error={fe.get('/reason') ?? (submitted && !reason.trim() ? 'Say why' : undefined)}
            data-testid="terminate-reason"
          />
          <ProblemAlert error={terminate.error} inlinePaths={['/reason']} title="Not terminated" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={terminate.isPending}>
              Cancel
            </Button>
            <Button type="submit" color="red" leftSection={<IconPlayerStop size={15} />} loading={terminate.isPending} data-testid="terminate-confirm">
              Terminate
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
