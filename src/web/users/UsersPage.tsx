import { ActionIcon, Badge, Button, Group, Menu, Select, Stack, Table, Text, Tooltip } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/client';
import { csvHref, useApiMutation, useList } from '../api/hooks';
import { ROLES, type Role, USER_STATUSES, type User, type UserStatus } from '../api/types';
import { useIsAdmin, useMe } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { FilterText, useUrlFilters } from '../common/filters';
import { formatDate, formatDateTime, isPast } from '../common/format';
import { IconBan, IconCheck, IconDots, IconEdit, IconKey, IconTrash } from '../common/icons';
import { DataTable, ListFooter, listStatus } from '../common/table';
import { ConfirmModal, CsvButton, NewButton, OneTimePasswordModal, PageHeader } from '../common/ui';
import { UserFormModal } from './UserFormModal';

const STATUS_COLOR: Record<UserStatus, string> = { active: 'green', disabled: 'gray', locked: 'orange', expired: 'red' };
const ROLE_COLOR: Record<Role, string> = { Administrator: 'red', Operator: 'blue', Client: 'gray' };

type Pending = { kind: 'delete' | 'reset'; user: User } | null;

export function UsersPage() {
  const me = useMe();
  const admin = useIsAdmin();
  const { values: f, set } = useUrlFilters(['username', 'role', 'status', 'affiliation'] as const);
  const list = useList<User>('users', f);
  const [form, setForm] = useState<{ user: User | null } | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [otp, setOtp] = useState<{ username: string; password: string } | null>(null);

  const setStatus = useApiMutation((v: { user: User; status: 'active' | 'disabled' }) => api.patch<User>(`/users/${v.user.id}`, { status: v.status }), ['users']);
  const remove = useApiMutation((u: User) => api.delete(`/users/${u.id}`), ['users']);
  const reset = useApiMutation((u: User) => api.post<{ oneTimePassword: string }>(`/users/${u.id}/reset-password`), ['users']);

  const filtered = Object.values(f).some(Boolean);
  const confirm = () => {
    if (!pending) return;
    const u = pending.user;
    if (pending.kind === 'delete') remove.mutate(u, { onSuccess: () => setPending(null) });
    else
      reset.mutate(u, {
        onSuccess: (res) => {
          setPending(null);
          if (res?.oneTimePassword) setOtp({ username: u.username, password: res.oneTimePassword });
        },
      });
  };

  return (
    <>
      <PageHeader
        title="Users"
        description="Who may sign in to the gateway. Employees and vendor staff; local or directory (LDAP) accounts."
        actions={
          <>
            <CsvButton href={csvHref('users', f)} />
            {admin && (
              <NewButton onClick={() => setForm({ user: null })} data-testid="new-user">
                New user
              </NewButton>
            )}
          </>
        }
      />
      <Group mb="md" align="flex-end" gap="sm">
        <FilterText label="Username" placeholder="Filter by username" value={f.username} onChange={(v) => set({ username: v })} w={220} data-testid="filter-username" />
        <Select label="Role" placeholder="Any role" clearable data={[...ROLES]} value={f.role || null} onChange={(v) => set({ role: v })} w={170} data-testid="filter-role" />
        <Select
          label="Status"
          placeholder="Any status"
          clearable
          data={USER_STATUSES.map((s) => ({ value: s, label: s[0]?.toUpperCase() + s.slice(1) }))}
          value={f.status || null}
          onChange={(v) => set({ status: v })}
          w={150}
          data-testid="filter-status"
        />
        <Select
          label="Affiliation"
          placeholder="Any"
          clearable
          data={[
            { value: 'employee', label: 'Employee' },
            { value: 'vendor', label: 'Vendor' },
          ]}
          value={f.affiliation || null}
          onChange={(v) => set({ affiliation: v })}
          w={150}
          data-testid="filter-affiliation"
        />
        {filtered && (
          <Button variant="subtle" color="gray" onClick={() => set({ username: null, role: null, status: null, affiliation: null })}>
            Clear filters
          </Button>
        )}
      </Group>

      {setStatus.error ? <ProblemAlert error={setStatus.error} title="Status not changed" onClose={() => setStatus.reset()} /> : null}

      <DataTable
        testId="users-table"
        minWidth={1100}
        style={{ marginTop: setStatus.error ? 'var(--mantine-spacing-md)' : undefined }}
        head={
          <>
            <Table.Th>User</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th miw={140}>Role</Table.Th>
            <Table.Th>Affiliation</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>TOTP</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Last sign-in</Table.Th>
            {admin && <Table.Th w={60} />}
          </>
        }
        status={listStatus(list, admin ? 9 : 8, filtered ? 'No user matches the filters.' : 'No users.')}
      >
        {list.items.map((u) => {
          const self = u.id === me.id;
          const busy = setStatus.isPending && setStatus.variables?.user.id === u.id;
          return (
            <Table.Tr key={u.id} data-testid="user-row" data-username={u.username}>
              <Table.Td>
                <Stack gap={0}>
                  <Group gap={6}>
                    <Text size="sm" fw={500} className="pc-mono">
                      {u.username}
                    </Text>
                    {self && (
                      <Badge size="xs" variant="light">
                        you
                      </Badge>
                    )}
                    {u.type === 'ldap' && (
                      <Badge size="xs" variant="outline" color="gray">
                        LDAP
                      </Badge>
                    )}
                  </Group>
                  <Text size="xs" c="dimmed">
                    {u.displayName || '—'}
                  </Text>
                </Stack>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{u.email || '—'}</Text>
              </Table.Td>
              <Table.Td>
                <Badge variant="light" color={ROLE_COLOR[u.role] ?? 'gray'} tt="none" style={{ overflow: 'visible' }}>
                  {u.role}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{u.affiliation === 'vendor' ? `Vendor${u.vendorName ? `: ${u.vendorName}` : ''}` : 'Employee'}</Text>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  <Badge variant="dot" color={STATUS_COLOR[u.status] ?? 'gray'} tt="capitalize">
                    {u.status}
                  </Badge>
                  {u.mustChangePassword && (
                    <Tooltip label="Signs in with a one-time password and must change it" withArrow>
                      <Badge variant="light" color="yellow" size="xs">
                        OTP pw
                      </Badge>
                    </Tooltip>
                  )}
                </Group>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c={u.otpRequired ? undefined : 'dimmed'}>
                  {u.otpRequired ? 'Required' : 'No'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c={isPast(u.expiresAt) ? 'red' : u.expiresAt ? undefined : 'dimmed'}>
                  {u.expiresAt ? formatDate(u.expiresAt) : 'never'}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                  {u.lastLoginAt ? formatDateTime(u.lastLoginAt) : 'never'}
                </Text>
              </Table.Td>
              {admin && (
                <Table.Td>
                  <Menu position="bottom-end" withArrow shadow="md" width={210}>
                    <Menu.Target>
                      <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${u.username}`} loading={busy} data-testid="user-actions">
                        <IconDots size={18} />
                      </ActionIcon>
                    </Menu.Target>
                    <Menu.Dropdown>
                      <Menu.Item leftSection={<IconEdit size={15} />} onClick={() => setForm({ user: u })}>
                        Edit
                      </Menu.Item>
                      {u.status === 'active' ? (
                        <Menu.Item
                          leftSection={<IconBan size={15} />}
                          disabled={self}
                          onClick={() => setStatus.mutate({ user: u, status: 'disabled' })}
                          data-testid="user-disable"
                        >
                          Disable
                        </Menu.Item>
                      ) : (
                        <Menu.Item leftSection={<IconCheck size={15} />} onClick={() => setStatus.mutate({ user: u, status: 'active' })} data-testid="user-enable">
                          {u.status === 'locked' ? 'Unlock' : 'Enable'}
                        </Menu.Item>
                      )}
                      {u.type === 'local' && (
                        <Menu.Item
                          leftSection={<IconKey size={15} />}
                          onClick={() => {
                            reset.reset();
                            setPending({ kind: 'reset', user: u });
                          }}
                          data-testid="user-reset-password"
                        >
                          Reset password
                        </Menu.Item>
                      )}
                      <Menu.Divider />
                      <Menu.Item
                        color="red"
                        leftSection={<IconTrash size={15} />}
                        disabled={self}
                        onClick={() => {
                          remove.reset();
                          setPending({ kind: 'delete', user: u });
                        }}
                        data-testid="user-delete"
                      >
                        Delete
                      </Menu.Item>
                    </Menu.Dropdown>
                  </Menu>
                </Table.Td>
              )}
            </Table.Tr>
          );
        })}
      </DataTable>
      <ListFooter list={list} noun="user" />

      <UserFormModal
        opened={form !== null}
        user={form?.user ?? null}
        onClose={() => setForm(null)}
        onCreated={(res) => {
          if (res.oneTimePassword) setOtp({ username: res.user.username, password: res.oneTimePassword });
        }}
      />
      <ConfirmModal
        opened={pending !== null}
        title={pending?.kind === 'delete' ? 'Delete user' : 'Reset password'}
        confirmLabel={pending?.kind === 'delete' ? 'Delete user' : 'Reset password'}
        danger={pending?.kind === 'delete'}
        loading={remove.isPending || reset.isPending}
        error={pending?.kind === 'delete' ? remove.error : reset.error}
        onClose={() => setPending(null)}
        onConfirm={confirm}
      >
        {pending?.kind === 'delete' ? (
          <Text size="sm">
            Delete <b>{pending.user.username}</b>? Their grants go with the account. Past sessions, recordings and the audit log
            keep the name. To keep the account but stop its use, disable it instead.
          </Text>
        ) : (
          <Text size="sm">
            Issue a new one-time password for <b>{pending?.user.username}</b>? The current password stops working at once and the
            user must choose a new one at the next sign-in.
          </Text>
        )}
      </ConfirmModal>
      <OneTimePasswordModal username={otp?.username ?? ''} password={otp?.password ?? null} onClose={() => setOtp(null)} />
    </>
  );
}
