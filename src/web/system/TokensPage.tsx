import { Alert, Badge, Button, Group, Modal, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import { type ApiToken, ROLE_COLOR, ROLES, type Role } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { formatDate, formatDateTime } from '../common/format';
import { IconAlert, IconBan } from '../common/icons';
import { DataTable, NameCell, RowAction, RowActions } from '../common/table';
import { ConfirmModal, CopyField, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';

const STATE_COLOR: Record<ApiToken['state'], string> = { active: 'green', expired: 'gray', revoked: 'red' };
const RANK: Record<Role, number> = { Client: 0, Operator: 1, Administrator: 2 };

/** System Management -> API tokens: bearer tokens for automation (ITSM, scripts). Secrets are shown once. */
export function TokensPage() {
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: ({ signal }) => api.get<{ items: ApiToken[] }>('/tokens', undefined, signal) });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ token: ApiToken; secret: string } | null>(null);
  const revoke = useApiMutation((t: ApiToken) => api.delete(`/tokens/${t.id}`), ['tokens']);
  const del = useConfirmDelete(revoke);
  const items = tokens.data?.items ?? [];

  return (
    <>
      <ListPageHeader
        title="API tokens"
        description="Bearer tokens for automation (ITSM, scripts). A token acts as its creator with at most the chosen role, always expires, and can be revoked at any time."
        create={{ label: 'New token', testId: 'new-token', onClick: () => setCreating(true) }}
      />
      <DataTable
        testId="tokens-table"
        minWidth={980}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Token</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Owner</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th w={60} />
          </>
        }
        status={{ colSpan: 8, loading: tokens.isPending, error: tokens.error, empty: items.length === 0, emptyText: 'No API tokens. Create one for each integration, so each can be revoked on its own.' }}
      >
        {items.map((t) => (
          <Table.Tr key={t.id} data-testid="token-row" data-token-name={t.name}>
            <NameCell name={t.name} caption={`created ${formatDateTime(t.createdAt)}`} />
            <Table.Td>
              <Text className="pc-mono">{t.prefix}…</Text>
            </Table.Td>
            <Table.Td>
              <Badge variant="light" color={ROLE_COLOR[t.role]} tt="none">
                {t.role}
              </Badge>
            </Table.Td>
            <Table.Td>
              <Text size="sm" className="pc-mono">
                {t.owner.username}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{t.expiresAt ? formatDate(t.expiresAt) : 'never'}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed">
                {t.lastUsedAt ? `${formatDateTime(t.lastUsedAt)}${t.lastUsedIp ? ` from ${t.lastUsedIp}` : ''}` : 'never'}
              </Text>
            </Table.Td>
            <Table.Td>
              <Badge variant="dot" color={STATE_COLOR[t.state]} tt="capitalize" data-testid="token-state">
                {t.state}
              </Badge>
            </Table.Td>
            <RowActions>{t.state === 'active' && <RowAction tooltip="Revoke" label={`Revoke ${t.name}`} icon={IconBan} danger onClick={() => del.ask(t)} testId="token-revoke" />}</RowActions>
          </Table.Tr>
        ))}
      </DataTable>

      <NewTokenModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(r) => {
          setCreating(false);
          setCreated(r);
        }}
      />
      <Modal opened={created !== null} onClose={() => setCreated(null)} title={<Text fw={600}>API token {created?.token.name}</Text>} size="lg" centered closeOnClickOutside={false} data-testid="token-secret-modal">
        <Stack>
          <Alert color="yellow" variant="light" icon={<IconAlert />}>
            Copy the token now: it is shown only once and the gateway keeps only a hash. Store it in the integration's secret store.
          </Alert>
          <CopyField value={created?.secret ?? ''} testId="token-secret" size="sm" />
          <Text size="xs" c="dimmed">
            Use it as <span className="pc-mono">Authorization: Bearer {created?.token.prefix}…</span> on requests to /api/v1.
          </Text>
          <Group justify="flex-end">
            <Button onClick={() => setCreated(null)} data-testid="token-secret-done">
              Done
            </Button>
          </Group>
        </Stack>
      </Modal>
      <ConfirmModal {...del.modal} title="Revoke API token" confirmLabel="Revoke token">
        <Text size="sm">
          Revoke <b>{del.target?.name}</b> ({del.target?.prefix}…)? Integrations using it fail at once. This cannot be undone.
        </Text>
      </ConfirmModal>
    </>
  );
}

const PRESETS = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '180', label: '180 days' },
  { value: '365', label: '1 year' },
];
const dateIn = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

function NewTokenModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (r: { token: ApiToken; secret: string }) => void }) {
  const me = useMe();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('Operator');
  const [preset, setPreset] = useState('90');
  const [date, setDate] = useState(dateIn(90));
  const [submitted, setSubmitted] = useState(false);
  const create = useApiMutation((body: { name: string; role: Role; expiresAt: string }) => api.post<{ token: ApiToken; secret: string }>('/tokens', body), ['tokens']);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    create.reset();
    setSubmitted(false);
    setName('');
    setRole(me.role === 'Administrator' ? 'Operator' : me.role);
    setPreset('90');
    setDate(dateIn(90));
  }, [opened]);

  const fe = fieldErrors(create.error);
  const today = dateIn(0);
  const max = dateIn(365);
  const problems = {
    name: !name.trim() ? 'Required' : undefined,
    date: !date ? 'Required' : date <= today ? 'Must be in the future' : date > max ? 'At most one year ahead' : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    create.mutate({ name: name.trim(), role, expiresAt: `${date}T23:59:59Z` }, { onSuccess: onCreated });
  };
  const show = (m: string | undefined) => (submitted ? m : undefined);

  return (
    <FormModal opened={opened} onClose={onClose} title="New API token" size="md" testId="token-form" onSubmit={submit}>
      <ProblemAlert error={create.error} inlinePaths={['/name', '/role', '/expiresAt']} title="Token not created" />
      <TextInput label="Name" description="What uses it, e.g. “ServiceNow integration”" required data-autofocus maxLength={128} value={name} onChange={(e) => setName(e.currentTarget.value)} error={fe.get('/name') ?? show(problems.name)} data-testid="token-name" />
      <Select
        label="Role"
        description="What the token may do: at most your own role"
        required
        allowDeselect={false}
        data={ROLES.filter((r) => RANK[r] <= RANK[me.role]).map((r) => ({ value: r, label: r }))}
        value={role}
        onChange={(v) => v && setRole(v as Role)}
        error={fe.get('/role')}
        data-testid="token-role"
      />
      <Stack gap={6}>
        <Text size="sm" fw={500}>
          Expires
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <SegmentedControl
            data={PRESETS}
            value={PRESETS.some((p) => p.value === preset) ? preset : ''}
            onChange={(v) => {
              setPreset(v);
              setDate(dateIn(Number(v)));
            }}
            size="xs"
            aria-label="Expiry presets"
          />
          <TextInput
            type="date"
            aria-label="Expiry date"
            min={today}
            max={max}
            value={date}
            onChange={(e) => {
              setPreset('');
              setDate(e.currentTarget.value);
            }}
            error={fe.get('/expiresAt') ?? show(problems.date)}
            data-testid="token-expires"
          />
        </SimpleGrid>
        <Text size="xs" c="dimmed">
          Tokens always expire, at most one year ahead (end of the chosen day, UTC).
        </Text>
      </Stack>
      <FormFooter onCancel={onClose} submitLabel="Create token" submitTestId="token-save" saving={create.isPending} feedback={{ error: create.error, invalid: submitted && invalid }} />
    </FormModal>
  );
}
