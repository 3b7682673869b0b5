import { Badge, Button, Group, Modal, Stack, Table, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { LdapDomain } from '../api/types';
import { formatDateTime } from '../common/format';
import { IconLock, IconPlug } from '../common/icons';
import { DataTable, DeleteAction, EditAction, NameCell, RowAction, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { ConnectionTestResult, useConnectionTest } from './ConnectionTest';
import { DomainFormModal } from './DomainFormModal';

export const useDomains = () => useQuery({ queryKey: ['ldap-domains'], queryFn: ({ signal }) => api.get<{ items: LdapDomain[] }>('/ldap-domains', undefined, signal) });

const security = (d: LdapDomain) => (d.url.startsWith('ldaps:') ? 'LDAPS' : d.startTls ? 'StartTLS' : 'plain');

/** System Management -> Domains: LDAP / Active Directory domains users sign in through. */
export function DomainsPage() {
  const domains = useDomains();
  const [form, setForm] = useState<{ domain: LdapDomain | null } | null>(null);
  const [testing, setTesting] = useState<LdapDomain | null>(null);
  const test = useConnectionTest();
  const remove = useApiMutation((d: LdapDomain) => api.delete(`/ldap-domains/${d.id}`), ['ldap-domains']);
  const del = useConfirmDelete(remove);
  const items = domains.data?.items ?? [];
  const unavailable = domains.error instanceof ApiError && domains.error.status === 404;

  return (
    <>
      <ListPageHeader
        title="Domains"
        description="LDAP and Active Directory domains. Directory users sign in with their directory password; group mappings give them a role and permission groups."
        create={{ label: 'New domain', testId: 'new-domain', onClick: () => setForm({ domain: null }), disabled: unavailable }}
      />
      <DataTable
        testId="domains-table"
        minWidth={980}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Server</Table.Th>
            <Table.Th>Base DN</Table.Th>
            <Table.Th>Service account</Table.Th>
            <Table.Th ta="right">Mappings</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th w={120} />
          </>
        }
        status={{
          colSpan: 7,
          loading: domains.isPending,
          error: unavailable ? null : domains.error,
          empty: items.length === 0,
          emptyText: unavailable ? 'Directory domains are not available on this gateway yet.' : 'No directory domains. Local accounts only.',
        }}
      >
        {items.map((d) => (
          <Table.Tr key={d.id} data-testid="domain-row" data-domain-name={d.name}>
            <NameCell name={d.name} caption={`updated ${formatDateTime(d.updatedAt)}`} />
            <Table.Td>
              <Group gap={6} wrap="nowrap">
                <Text size="sm" className="pc-mono">
                  {d.url}
                </Text>
                <Tooltip label={security(d) === 'plain' ? 'Unencrypted: passwords cross the network in clear text' : `Encrypted (${security(d)})`} withArrow>
                  <Badge size="xs" variant="light" color={security(d) === 'plain' ? 'red' : 'teal'} leftSection={security(d) === 'plain' ? undefined : <IconLock size={10} />}>
                    {security(d)}
                  </Badge>
                </Tooltip>
              </Group>
            </Table.Td>
            <Table.Td maw={260}>
              <Text size="sm" className="pc-mono" truncate="end" title={d.baseDn}>
                {d.baseDn}
              </Text>
            </Table.Td>
            <Table.Td maw={260}>
              <Text size="sm" className="pc-mono" truncate="end" title={d.bindDn}>
                {d.bindDn || 'anonymous'}
              </Text>
              {d.bindDn && (
                <Text size="xs" c={d.hasBindPassword ? 'dimmed' : 'red'}>
                  {d.hasBindPassword ? 'password stored' : 'no password stored'}
                </Text>
              )}
            </Table.Td>
            <Table.Td ta="right">{d.groupMappings.length}</Table.Td>
            <Table.Td>
              <Badge variant="dot" color={d.enabled ? 'green' : 'gray'}>
                {d.enabled ? 'Enabled' : 'Disabled'}
              </Badge>
            </Table.Td>
            <RowActions>
              <RowAction
                tooltip="Test connection"
                label={`Test connection of ${d.name}`}
                icon={IconPlug}
                onClick={() => {
                  setTesting(d);
                  test.mutate(d);
                }}
                testId="domain-test"
              />
              <EditAction label={`Edit ${d.name}`} onClick={() => setForm({ domain: d })} testId="domain-edit" />
              <DeleteAction label={`Delete ${d.name}`} onClick={() => del.ask(d)} testId="domain-delete" />
            </RowActions>
          </Table.Tr>
        ))}
      </DataTable>

      <DomainFormModal opened={form !== null} domain={form?.domain ?? null} onClose={() => setForm(null)} />
      <Modal opened={testing !== null} onClose={() => setTesting(null)} title={<Text fw={600}>Test connection: {testing?.name}</Text>} size="lg" centered>
        <Stack>
          <ConnectionTestResult test={test} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => testing && test.mutate(testing)} loading={test.isPending}>
              Test again
            </Button>
            <Button onClick={() => setTesting(null)}>Close</Button>
          </Group>
        </Stack>
      </Modal>
      <ConfirmModal {...del.modal} title="Delete domain" confirmLabel="Delete domain">
        <Text size="sm">
          Delete the domain <b>{del.target?.name}</b>? The gateway refuses while directory users still sign in through it; disable it
          instead to stop its use.
        </Text>
      </ConfirmModal>
    </>
  );
}
