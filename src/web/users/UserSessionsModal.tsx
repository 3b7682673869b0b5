import { Alert, Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { SessionInfo, User } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { IconAlert, IconLogout } from '../common/icons';
import { SessionsTable } from '../common/sessions';

/** An administrator's view of a user's console sessions, with "End all sessions". */
export function UserSessionsModal({ user, onClose }: { user: User | null; onClose: () => void }) {
  const sessions = useQuery({
    queryKey: ['users', 'sessions', user?.id],
    queryFn: ({ signal }) => api.get<{ items: SessionInfo[] }>(`/users/${user?.id}/sessions`, undefined, signal),
    enabled: !!user,
    staleTime: 0,
  });
  const endAll = useApiMutation((u: User) => api.delete(`/users/${u.id}/sessions`) as Promise<unknown>, ['users']);
  const [confirming, setConfirming] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: fresh state for each user
  useEffect(() => {
    setConfirming(false);
    endAll.reset();
  }, [user]);

  const items = sessions.data?.items ?? [];
  return (
    <Modal opened={user !== null} onClose={onClose} title={<Text fw={600}>Sessions of {user?.username}</Text>} size="xl" centered data-testid="user-sessions-modal">
      <Stack>
        <Text size="sm" c="dimmed">
          Console sessions of this account. Ending them signs the user out everywhere; API tokens are not affected.
        </Text>
        <SessionsTable items={items} loading={sessions.isPending} error={sessions.error} testId="user-sessions-table" />
        <ProblemAlert error={endAll.error} title="Sessions not ended" />
        {confirming && (
          <Alert color="red" variant="light" icon={<IconAlert />}>
            End all {items.length} session{items.length === 1 ? '' : 's'} of <b>{user?.username}</b>?
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Close
          </Button>
          {confirming ? (
            <Button
              color="red"
              leftSection={<IconLogout size={16} />}
              loading={endAll.isPending}
              onClick={() => user && endAll.mutate(user, { onSuccess: () => setConfirming(false) })}
              data-testid="user-sessions-end-all-confirm"
            >
              End all sessions
            </Button>
          ) : (
            <Button color="red" variant="light" leftSection={<IconLogout size={16} />} disabled={items.length === 0} onClick={() => setConfirming(true)} data-testid="user-sessions-end-all">
              End all sessions
            </Button>
          )}
        </Group>
      </Stack>
    </Modal>
  );
}
