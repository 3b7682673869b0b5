import { Anchor, Badge, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import { csvHref, useApiMutation, useList } from '../api/hooks';
import type { Site } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { formatDateTime } from '../common/format';
import { IconLayers } from '../common/icons';
import { DataTable, DeleteAction, EditAction, ListFooter, listStatus, RowAction, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { SiteFormModal } from './SiteFormModal';

export const QUALITY_COLOR = { low: 'gray', medium: 'blue', high: 'teal' } as const;

export function SitesPage() {
  const admin = useIsAdmin();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const { values, set } = useUrlFilters(['name'] as const);
  const list = useList<Site>('sites', values);
  const [editing, setEditing] = useState<Site | null>(null);
  const creating = params.get('new') === '1';
  const setCreating = (on: boolean) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (on) next.set('new', '1');
        else next.delete('new');
        return next;
      },
      { replace: true },
    );

  const remove = useApiMutation((s: Site) => api.delete(`/sites/${s.id}`), ['sites', 'zones', 'assets']);
  const del = useConfirmDelete(remove);
  const cols = admin ? 7 : 6;

  return (
    <>
      <ListPageHeader
        title="Sites"
        description="Plants and locations. Each site has zones (Purdue level, target security level) and assets."
        csv={csvHref('sites', values)}
        create={admin && { label: 'New site', testId: 'new-site', onClick: () => setCreating(true) }}
      />
      <FilterBar>
        <FilterText label="Name" placeholder="Filter by name" value={values.name} onChange={(v) => set({ name: v })} w={280} data-testid="filter-site-name" />
      </FilterBar>

      <DataTable
        testId="sites-table"
        minWidth={820}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Time zone</Table.Th>
            <Table.Th>Stream quality</Table.Th>
            <Table.Th ta="right">Max connections</Table.Th>
            <Table.Th>Description</Table.Th>
            <Table.Th>Updated</Table.Th>
            {admin && <Table.Th w={120} />}
          </>
        }
        status={listStatus(list, cols, values.name ? 'No site matches the filter.' : 'No sites yet. Create the first one with "New site".')}
      >
        {list.items.map((s) => (
          <Table.Tr key={s.id} data-testid="site-row">
            <Table.Td>
              <Anchor component={Link} to={`/sites/${s.id}`} fw={500}>
                {s.name}
              </Anchor>
            </Table.Td>
            <Table.Td>{s.timezone}</Table.Td>
            <Table.Td>
              <Badge variant="light" color={QUALITY_COLOR[s.streamQuality]} tt="capitalize">
                {s.streamQuality}
              </Badge>
            </Table.Td>
            <Table.Td ta="right">{s.maxConnections}</Table.Td>
            <Table.Td maw={320}>
              <Text size="sm" c="dimmed" truncate="end" title={s.description}>
                {s.description || '—'}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed">
                {formatDateTime(s.updatedAt)}
              </Text>
            </Table.Td>
            {admin && (
              <RowActions>
                <RowAction tooltip="Zones" label={`Zones of ${s.name}`} icon={IconLayers} onClick={() => navigate(`/sites/${s.id}`)} />
                <EditAction label={`Edit ${s.name}`} onClick={() => setEditing(s)} />
                <DeleteAction label={`Delete ${s.name}`} onClick={() => del.ask(s)} />
              </RowActions>
            )}
          </Table.Tr>
        ))}
      </DataTable>
      <ListFooter list={list} noun="site" />

      <SiteFormModal opened={creating || editing !== null} site={editing} onClose={() => (editing ? setEditing(null) : setCreating(false))} />
      <ConfirmModal {...del.modal} title="Delete site" confirmLabel="Delete site">
        <Text size="sm">
          Delete site <b>{del.target?.name}</b> and its zones? The gateway refuses while assets still belong to it. This cannot be
          undone; the audit log keeps the record.
        </Text>
      </ConfirmModal>
    </>
  );
}
