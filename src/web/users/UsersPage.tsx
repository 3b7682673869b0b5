import { ActionIcon, Alert, Badge, Group, Menu, Select, Stack, Table, Text, Tooltip } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { api } from '../api/client';
import { csvHref, useApiMutation, useList } from '../api/hooks';
import { ROLE_COLOR, ROLES, USER_STATUSES, type User, type UserStatus } from '../api/types';
import { useIsAdmin, useMe } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { formatDate, formatDateTime, isPast } from '../common/format';
import { IconBan, IconCheck, IconClock, IconDots, IconEdit, IconKey, IconLockOpen, IconShield, IconTrash } from '../common/icons';
import { DataTable, ListFooter, listStatus } from '../common/table';
import { ConfirmModal, ListPageHeader, OneTimePasswordModal } from '../common/ui';
import { UserFormModal } from './UserFormModal';
import { UserSessionsModal } from './UserSessionsModal';

const STATUS_COLOR: Record<UserStatus, string> = { active: 'green', disabled: 'gray', locked: 'orange', expired: 'red' };
type PendingKind = 'delete' | 'reset' | 'force-change' | 'reset-mfa';
type Pending = { kind: PendingKind; user: User } | null;

const CONFIRM: Record<PendingKind, { title: string; label: string; danger?: boolean; text: (u: string) => ReactNode }> = {
  delete: {
    title: 'Delete user',
    label: 'Delete user',
    danger: true,
    text: (u) => (
      <>
        Delete <b>{u}</b>? Their grants go with the account. Past sessions, recordings and the audit log keep the name. To keep the
        account but stop its use, disable it instead.
      </>
    ),
  },
  reset: {
    title: 'Reset password',
    label: 'Reset password',
    text: (u) => (
      <>
        Issue a new one-time password for <b>{u}</b>? The current password stops working at once and the user must choose a new one
        at the next sign-in.
      </>
    ),
  },
  'force-change': {
    title: 'Require a password change',
    label: 'Require change',
    text: (u) => (
      <>
        <b>{u}</b> keeps the current password but must choose a new one at the next sign-in, before doing anything else.
      </>
    ),
  },
  'reset-mfa': {
    title: 'Reset second factors',
    label: 'Reset second factors',
    danger: true,
    text: (u) => (
      <>
        Remove the authenticator app, every security key and the recovery codes of <b>{u}</b>, and end their sessions? Do this only
        after verifying the person's identity (lost phone or key). If a second factor is required, they enroll a new one at the next
        sign-in.
      </>
    ),
  },
};

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
  const reset = useApiMutation((u: User) => api.post<{ oneTimePassword?: string }>(`/users/${u.id}/reset-password`), ['users']);
  const forceChange = useApiMutation((u: User) => api.patch<User>(`/users/${u.id}`, { mustChangePassword: true }), ['users']);
  const resetMfa = useApiMutation((u: User) => api.post<void>(`/users/${u.id}/mfa/reset`), ['users']);
  const [sessionsOf, setSessionsOf] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const mutations = { delete: remove, reset, 'force-change': forceChange, 'reset-mfa': resetMfa } as const;
  const ask = (kind: PendingKind, user: User) => {
    mutations[kind].reset();
    setPending({ kind, user });
  };

  const filtered = Object.values(f).some(Boolean);
  const confirm = () => {
    if (!pending) return;
    const u = pending.user;
    if (pending.kind === 'delete') remove.mutate(u, { onSuccess: () => setPending(null) });
    else if (pending.kind === 'force-change')
      forceChange.mutate(u, {
        onSuccess: () => {
          setPending(null);
          setNotice(`${u.username} must change the password at the next sign-in.`);
        },
      });
    else if (pending.kind === 'reset-mfa')
      resetMfa.mutate(u, {
        onSuccess: () => {
          setPending(null);
          setNotice(`The second factors of ${u.username} were removed and their sessions ended.`);
        },
      });
    else
      reset.mutate(u, {
        onSuccess: (res) => {
          setPending(null);
          if (res?.oneTimePassword) setOtp({ username: u.username, password: res.oneTimePassword });
        },
      });
  };
  const current = pending ? CONFIRM[pending.kind] : null;

  return (
    <>
      <ListPageHeader
        title="Users"
        description="Who may sign in to the gateway. Employees and vendor staff; local or directory (LDAP) accounts."
        csv={csvHref('users', f)}
        create={admin && { label: 'New user', testId: 'new-user', onClick: () => setForm({ user: null }) }}
      />
      <FilterBar active={filtered} onClear={() => set({ username: null, role: null, status: null, affiliation: null })}>
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
      </FilterBar>

      {setStatus.error ? <ProblemAlert error={setStatus.error} title="Status not changed" onClose={() => setStatus.reset()} /> : null}
      {notice && (
        <Alert color="teal" variant="light" icon={<IconCheck />} withCloseButton onClose={() => setNotice(null)} mb="md" data-testid="users-notice">
          {notice}
        </Alert>
      )}

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
            <Table.Th>2nd factor</Table.Th>
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
                    <Tooltip label="Must choose a new password at the next sign-in" withArrow>
                      <Badge variant="light" color="yellow" size="xs">
                        password change due
                      </Badge>
                    </Tooltip>
                  )}
                </Group>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c={u.otpRequired ? undefined : 'dimmed'}>
                  {u.otpRequired ? 'Required' : 'Optional'}
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
                  <Menu position="bottom-end" withArrow shadow="md" width={240}>
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
                        <Menu.Item
                          leftSection={u.status === 'locked' ? <IconLockOpen size={15} /> : <IconCheck size={15} />}
                          onClick={() => {
                            setNotice(null);
                            setStatus.mutate({ user: u, status: 'active' });
                          }}
                          data-testid="user-enable"
                          data-action={u.status === 'locked' ? 'unlock' : 'enable'}
                        >
                          {u.status === 'locked' ? 'Unlock' : 'Enable'}
                        </Menu.Item>
                      )}
                      <Menu.Divider />
                      {u.type === 'local' && (
                        <Menu.Item leftSection={<IconKey size={15} />} onClick={() => ask('reset', u)} data-testid="user-reset-password">
                          Reset password
                        </Menu.Item>
                      )}
                      {u.type === 'local' && (
                        <Menu.Item leftSection={<IconKey size={15} />} disabled={u.mustChangePassword} onClick={() => ask('force-change', u)} data-testid="user-force-password-change">
                          Require password change
                        </Menu.Item>
                      )}
                      <Menu.Item leftSection={<IconShield size={15} />} disabled={self} onClick={() => ask('reset-mfa', u)} data-testid="user-reset-mfa">
                        Reset second factors
                      </Menu.Item>
                      <Menu.Item leftSection={<IconClock size={15} />} onClick={() => setSessionsOf(u)} data-testid="user-sessions">
                        Sessions…
                      </Menu.Item>
                      <Menu.Divider />
                      <Menu.Item color="red" leftSection={<IconTrash size={15} />} disabled={self} onClick={() => ask('delete', u)} data-testid="user-delete">
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
        title={current?.title ?? ''}
        confirmLabel={current?.label ?? ''}
        danger={current?.danger}
        loading={pending ? mutations[pending.kind].isPending : false}
        error={pending ? mutations[pending.kind].error : null}
        onClose={() => setPending(null)}
        onConfirm={confirm}
      >
        <Text size="sm">{pending && current?.text(pending.user.username)}</Text>
      </ConfirmModal>
      <UserSessionsModal user={sessionsOf} onClose={() => setSessionsOf(null)} />
      <OneTimePasswordModal username={otp?.username ?? ''} password={otp?.password ?? null} onClose={() => setOtp(null)} />
    </>
  );
}
