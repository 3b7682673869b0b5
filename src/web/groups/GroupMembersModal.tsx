import { Badge, Button, Group as MGroup, Modal, Select, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useAll, useApiMutation } from '../api/hooks';
import type { Group, GroupMember, User } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconPlus, IconTrash } from '../common/icons';
import { DataTable, RowAction, RowActions } from '../common/table';
import { KIND_COLOR, KIND_LABEL } from './kinds';

/** A group's members: the list (GET /groups/:id), add one from the users, remove. */
export function GroupMembersModal({ group, onClose }: { group: Group | null; onClose: () => void }) {
  const admin = useIsAdmin();
  const detail = useQuery({
    queryKey: ['groups', 'detail', group?.id],
    queryFn: ({ signal }) => api.get<Group & { members: GroupMember[] }>(`/groups/${group?.id}`, undefined, signal),
    enabled: !!group,
  });
  const users = useAll<User>('users', {}, { enabled: !!group && admin });
  const [userId, setUserId] = useState<string | null>(null);
  const add = useApiMutation((v: { groupId: string; userId: string }) => api.post(`/groups/${v.groupId}/members`, { userId: v.userId }), ['groups', 'users']);
  const remove = useApiMutation((v: { groupId: string; userId: string }) => api.delete(`/groups/${v.groupId}/members/${v.userId}`), ['groups', 'users']);

  // biome-ignore lint/correctness/useExhaustiveDependencies: fresh state for each group
  useEffect(() => {
    setUserId(null);
    add.reset();
    remove.reset();
  }, [group]);

  const members = detail.data?.members ?? [];
  const memberIds = new Set(members.map((m) => m.userId));
  const options = (users.data?.items ?? []).filter((u) => !memberIds.has(u.id)).map((u) => ({ value: u.id, label: u.displayName ? `${u.username} (${u.displayName})` : u.username }));

  return (
    <Modal
      opened={group !== null}
      onClose={onClose}
      title={
        <MGroup gap="xs">
          <Text fw={600}>Members of {group?.name}</Text>
          {group && (
            <Badge variant="light" color={KIND_COLOR[group.kind]} tt="none">
              {KIND_LABEL[group.kind]}
            </Badge>
          )}
        </MGroup>
      }
      size="lg"
      centered
      data-testid="group-members-modal"
    >
      <Stack>
        {detail.data?.description && (
          <Text size="sm" c="dimmed">
            {detail.data.description}
          </Text>
        )}
        {admin && (
          <MGroup align="flex-end" gap="xs" wrap="nowrap">
            <Select
              label="Add a member"
              placeholder={users.isPending ? 'Loading users…' : 'Search users'}
              searchable
              clearable
              data={options}
              value={userId}
              onChange={setUserId}
              nothingFoundMessage="No such user (or already a member)"
              style={{ flex: 1 }}
              data-testid="group-add-member-user"
            />
            <Button
              leftSection={<IconPlus size={16} />}
              disabled={!userId || !group}
              loading={add.isPending}
              onClick={() => group && userId && add.mutate({ groupId: group.id, userId }, { onSuccess: () => setUserId(null) })}
              data-testid="group-add-member"
            >
              Add
            </Button>
          </MGroup>
        )}
        <ProblemAlert error={add.error ?? remove.error} title={add.error ? 'Member not added' : 'Member not removed'} />
        <DataTable
          testId="group-members-table"
          minWidth={480}
          head={
            <>
              <Table.Th>User</Table.Th>
              <Table.Th>Member since</Table.Th>
              {admin && <Table.Th w={60} />}
            </>
          }
          status={{ colSpan: admin ? 3 : 2, loading: detail.isPending, error: detail.error, empty: members.length === 0, emptyText: 'No members yet.' }}
        >
          {members.map((m) => (
            <Table.Tr key={m.userId} data-testid="group-member-row" data-username={m.username}>
              <Table.Td>
                <Text size="sm" fw={500} className="pc-mono">
                  {m.username}
                </Text>
                <Text size="xs" c="dimmed">
                  {m.displayName || '—'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c="dimmed">
                  {formatDateTime(m.addedAt)}
                </Text>
              </Table.Td>
              {admin && (
                <RowActions>
                  <RowAction
                    tooltip="Remove from group"
                    label={`Remove ${m.username}`}
                    icon={IconTrash}
                    danger
                    onClick={() => group && remove.mutate({ groupId: group.id, userId: m.userId })}
                    testId="group-remove-member"
                  />
                </RowActions>
              )}
            </Table.Tr>
          ))}
        </DataTable>
        <MGroup justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Close
          </Button>
        </MGroup>
      </Stack>
    </Modal>
  );
}
