import { Badge, Button, Code, Table, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { AssetAccount, PinnedHostKey } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { formatDateTime, formatRelative } from '../common/format';
import { IconFingerprint, IconKey, IconLock } from '../common/icons';
import { DataTable, DeleteAction, EditAction, RowActions } from '../common/table';
import { ConfirmModal, NewButton, Section } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { AccountFormModal } from './AccountFormModal';

/** The asset's accounts in the vault: what the gateway logs in with (secrets write-only). */
export function VaultAccounts({ assetId, assetName }: { assetId: string; assetName: string }) {
  const admin = useIsAdmin();
  const accounts = useQuery({
    queryKey: ['vault', assetId],
    queryFn: ({ signal }) => api.get<{ items: AssetAccount[] }>(`/assets/${assetId}/accounts`, undefined, signal),
  });
  const items = accounts.data?.items ?? [];
  const [form, setForm] = useState<{ account: AssetAccount | null } | null>(null);
  const remove = useApiMutation((a: AssetAccount) => api.delete(`/assets/${assetId}/accounts/${a.id}`), ['vault']);
  const del = useConfirmDelete(remove);
  const cols = admin ? 5 : 4;

  return (
    <Section
      title="Accounts"
      description='The credentials the gateway logs in with. Users never see them. With several accounts, the one named "default" is used unless one is chosen.'
      actions={
        admin && (
          <NewButton size="xs" onClick={() => setForm({ account: null })} disabled={!accounts.data} data-testid="new-account">
            Add account
          </NewButton>
        )
      }
      testId="vault-accounts"
    >
      <DataTable
        testId="accounts-table"
        minWidth={640}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Username</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Secret</Table.Th>
            {admin && <Table.Th w={90} />}
          </>
        }
        status={{
          colSpan: cols,
          loading: accounts.isPending,
          error: accounts.error,
          empty: items.length === 0,
          emptyText: admin ? 'No account yet: nobody can open a session until you add one.' : 'No account yet: an administrator must add one before anyone can connect.',
        }}
      >
        {items.map((a) => (
          <Table.Tr key={a.id} data-testid="account-row" data-account-name={a.name}>
            <Table.Td>
              <Text size="sm" fw={500}>
                {a.name}
              </Text>
            </Table.Td>
            <Table.Td>
              <span className="pc-mono">{a.username}</span>
            </Table.Td>
            <Table.Td>
              <Badge size="sm" variant="light" color={a.kind === 'ssh_key' ? 'grape' : 'blue'} leftSection={a.kind === 'ssh_key' ? <IconKey size={11} /> : <IconLock size={11} />} tt="none">
                {a.kind === 'ssh_key' ? 'SSH key' : 'Password'}
              </Badge>
            </Table.Td>
            <Table.Td>
              <Tooltip label={formatDateTime(a.secretChangedAt)} withArrow>
                <Text size="sm" c="dimmed" data-testid="account-secret">
                  set · changed {formatRelative(a.secretChangedAt)}
                </Text>
              </Tooltip>
            </Table.Td>
            {admin && (
              <RowActions>
                <EditAction label={`Edit account ${a.name} or replace its secret`} onClick={() => setForm({ account: a })} testId="account-edit" />
                <DeleteAction label={`Delete account ${a.name}`} onClick={() => del.ask(a)} testId="account-delete" />
              </RowActions>
            )}
          </Table.Tr>
        ))}
      </DataTable>
      <AccountFormModal
        opened={form !== null}
        assetId={assetId}
        assetName={assetName}
        account={form?.account ?? null}
        suggestedName={items.length === 0 ? 'default' : ''}
        onClose={() => setForm(null)}
      />
      <ConfirmModal {...del.modal} title="Delete account" confirmLabel="Delete account">
        <Text size="sm">
          Delete account <b>{del.target?.name}</b> ({del.target?.username}) from the vault? Sessions that need it cannot open any more; recordings stay.
        </Text>
      </ConfirmModal>
    </Section>
  );
}

/** SSH host keys pinned on first use; forgetting one lets the next connection pin what it sees. */
export function HostKeys({ assetId }: { assetId: string }) {
  const admin = useIsAdmin();
  const keys = useQuery({
    queryKey: ['host-keys', assetId],
    queryFn: ({ signal }) => api.get<{ items: PinnedHostKey[] }>(`/assets/${assetId}/host-keys`, undefined, signal),
  });
  const items = keys.data?.items ?? [];
  const forget = useApiMutation((k: PinnedHostKey) => api.delete(`/assets/${assetId}/host-keys/${k.port}`), ['host-keys']);
  const ask = useConfirmDelete(forget);
  const cols = admin ? 5 : 4;

  return (
    <Section
      title="Pinned host keys"
      description="The SSH host key each port showed on its first connection. A different key later is refused (someone may be in the middle)."
      testId="host-keys"
    >
      <DataTable
        testId="host-keys-table"
        minWidth={640}
        head={
          <>
            <Table.Th>Port</Table.Th>
            <Table.Th>Fingerprint</Table.Th>
            <Table.Th>Pinned</Table.Th>
            <Table.Th>By</Table.Th>
            {admin && <Table.Th w={110} />}
          </>
        }
        status={{
          colSpan: cols,
          loading: keys.isPending,
          error: keys.error,
          empty: items.length === 0,
          emptyText: 'No key pinned yet: the first SSH connection pins the key it sees.',
        }}
      >
        {items.map((k) => (
          <Table.Tr key={k.port} data-testid="host-key-row" data-port={k.port}>
            <Table.Td>
              <Text size="sm" fw={500}>
                {k.port}
              </Text>
            </Table.Td>
            <Table.Td>
              <Code fz="xs" data-testid="host-key-fingerprint">
                {k.fingerprint}
              </Code>
            </Table.Td>
            <Table.Td>
              <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
                {formatDateTime(k.pinnedAt)}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed">
                {k.pinnedBy}
              </Text>
            </Table.Td>
            {admin && (
              <RowActions>
                <Button size="xs" variant="light" color="red" leftSection={<IconFingerprint size={13} />} onClick={() => ask.ask(k)} data-testid="host-key-forget">
                  Forget
                </Button>
              </RowActions>
            )}
          </Table.Tr>
        ))}
      </DataTable>
      <ConfirmModal {...ask.modal} title="Forget the pinned host key" confirmLabel="Forget key">
        <Text size="sm" mb="xs">
          Forget the key pinned for port <b>{ask.target?.port}</b>?
        </Text>
        <Code block fz="xs" mb="xs">
          {ask.target?.fingerprint}
        </Code>
        <Text size="sm">
          Do this only after checking the asset's new key with its owner (console of the device, vendor, change record). The next connection pins
          whatever key it sees, so an attacker in the middle would be trusted from then on.
        </Text>
      </ConfirmModal>
    </Section>
  );
}
