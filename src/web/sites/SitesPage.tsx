import { ActionIcon, Anchor, Badge, Button, Group, Table, Text, Tooltip } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import { csvHref, useApiMutation, useList } from '../api/hooks';
import type { Site } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { FilterText, useUrlFilters } from '../common/filters';
import { formatDateTime } from '../common/format';
import { IconEdit, IconLayers, IconPlus, IconTrash } from '../common/icons';
import { ConfirmModal, CsvButton, ListFooter, PageHeader, TableStatus } from '../common/ui';
import { SiteFormModal } from './SiteFormModal';

export const QUALITY_COLOR = { low: 'gray', medium: 'blue', high: 'teal' } as const;

export function SitesPage() {
  const admin = useIsAdmin();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const { values, set } = useUrlFilters(['name'] as const);
  const list = useList<Site>('sites', values);
  const [editing, setEditing] = useState<Site | null>(null);
  const [deleting, setDeleting] = useState<Site | null>(null);
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
  const cols = admin ? 7 : 6;

  return (
    <>
      <PageHeader
        title="Sites"
        description="Plants and locations. Each site has zones (Purdue level, target security level) and assets."
        actions={
          <>
            <CsvButton href={csvHref('sites', values)} />
            {admin && (
              <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)} data-testid="new-site">
                New site
              </Button>
            )}
          </>
        }
      />
      <Group mb="md" align="flex-end">
        <FilterText label="Name" placeholder="Filter by name" value={values.name} onChange={(v) => set({ name: v })} w={280} data-testid="filter-site-name" />
      </Group>

      <div className="pc-table-wrap">
        <Table.ScrollContainer minWidth={820}>
          <Table data-testid="sites-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Time zone</Table.Th>
                <Table.Th>Stream quality</Table.Th>
                <Table.Th ta="right">Max connections</Table.Th>
                <Table.Th>Description</Table.Th>
                <Table.Th>Updated</Table.Th>
                {admin && <Table.Th w={120} />}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <TableStatus
                colSpan={cols}
                loading={list.isPending}
                error={list.error}
                empty={list.items.length === 0}
                emptyText={values.name ? 'No site matches the filter.' : 'No sites yet. Create the first one with "New site".'}
              />
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
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Tooltip label="Zones" withArrow>
                          <ActionIcon variant="subtle" color="gray" aria-label={`Zones of ${s.name}`} onClick={() => navigate(`/sites/${s.id}`)}>
                            <IconLayers size={17} />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Edit" withArrow>
                          <ActionIcon variant="subtle" color="gray" aria-label={`Edit ${s.name}`} onClick={() => setEditing(s)}>
                            <IconEdit size={17} />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Delete" withArrow>
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Delete ${s.name}`}
                            onClick={() => {
                              remove.reset();
                              setDeleting(s);
                            }}
                          >
                            <IconTrash size={17} />
                          </ActionIcon>
                        </Tooltip>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </div>
      <ListFooter count={list.items.length} hasMore={!!list.hasNextPage} loadingMore={list.isFetchingNextPage} onMore={() => void list.fetchNextPage()} noun="site" />

      <SiteFormModal opened={creating || editing !== null} site={editing} onClose={() => (editing ? setEditing(null) : setCreating(false))} />
      <ConfirmModal
        opened={deleting !== null}
        title="Delete site"
        confirmLabel="Delete site"
        danger
        loading={remove.isPending}
        error={remove.error}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting, { onSuccess: () => setDeleting(null) })}
      >
        <Text size="sm">
          Delete site <b>{deleting?.name}</b> and its zones? The gateway refuses while assets still belong to it. This cannot be
          undone; the audit log keeps the record.
        </Text>
      </ConfirmModal>
    </>
  );
}
