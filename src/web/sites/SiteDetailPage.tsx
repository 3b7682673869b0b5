import { Anchor, Badge, Button, Card, Group, SimpleGrid, Skeleton, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ApiError, api } from '../api/client';
import { useAll, useApiMutation } from '../api/hooks';
import { purdueLabel, type Site, type Zone } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconArrowLeft, IconEdit, IconServer } from '../common/icons';
import { DataTable, DeleteAction, EditAction, RowActions } from '../common/table';
import { ConfirmModal, NewButton } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { SiteFormModal } from './SiteFormModal';
import { QUALITY_COLOR } from './SitesPage';
import { ZoneFormModal } from './ZoneFormModal';

const SL_COLOR = ['gray', 'green', 'yellow', 'orange', 'red'] as const;

export function SiteDetailPage() {
  const { siteId = '' } = useParams();
  const admin = useIsAdmin();
  const navigate = useNavigate();
  const site = useQuery({ queryKey: ['sites', 'one', siteId], queryFn: ({ signal }) => api.get<Site>(`/sites/${siteId}`, undefined, signal) });
  const zones = useAll<Zone>('zones', { siteId });
  const [editSite, setEditSite] = useState(false);
  const [zoneForm, setZoneForm] = useState<{ zone: Zone | null } | null>(null);
  const removeZone = useApiMutation((z: Zone) => api.delete(`/zones/${z.id}`), ['zones', 'assets']);
  const del = useConfirmDelete(removeZone);

  const back = (
    <Anchor component={Link} to="/sites" size="sm" c="dimmed">
      <Group gap={4}>
        <IconArrowLeft size={14} /> All sites
      </Group>
    </Anchor>
  );

  if (site.isError) {
    return (
      <>
        {back}
        <ProblemAlert
          error={site.error}
          title={site.error instanceof ApiError && site.error.status === 404 ? 'This site does not exist (any more)' : 'Could not load the site'}
        />
      </>
    );
  }
  const s = site.data;
  const zoneItems = [...(zones.data?.items ?? [])].sort((a, b) => a.purdueLevel - b.purdueLevel || a.name.localeCompare(b.name));
  const cols = admin ? 5 : 4;

  return (
    <>
      {back}
      <Group justify="space-between" align="flex-end" mt="xs" mb="md">
        <div>
          <Title order={2} fw={600} data-testid="site-title">
            {s ? s.name : <Skeleton h={28} w={200} />}
          </Title>
          <Text c="dimmed" size="sm">
            {s?.description || 'Site'}
          </Text>
        </div>
        <Group gap="xs">
          <Button variant="default" leftSection={<IconServer size={16} />} onClick={() => navigate(`/assets?siteId=${siteId}`)}>
            Assets at this site
          </Button>
          {admin && s && (
            <Button variant="default" leftSection={<IconEdit size={16} />} onClick={() => setEditSite(true)}>
              Edit site
            </Button>
          )}
        </Group>
      </Group>

      <SimpleGrid cols={{ base: 2, md: 4 }} mb="lg">
        <Info label="Time zone" value={s?.timezone} />
        <Info
          label="Stream quality"
          value={
            s && (
              <Badge variant="light" color={QUALITY_COLOR[s.streamQuality]} tt="capitalize">
                {s.streamQuality}
              </Badge>
            )
          }
        />
        <Info label="Max concurrent connections" value={s?.maxConnections} />
        <Info label="Last changed" value={s && formatDateTime(s.updatedAt)} />
      </SimpleGrid>

      <Group justify="space-between" mb="xs">
        <div>
          <Title order={4} fw={600}>
            Zones
          </Title>
          <Text c="dimmed" size="xs">
            Zones and conduits (IEC 62443-3-2): group assets by Purdue level and the security level they must reach.
          </Text>
        </div>
        {admin && (
          <NewButton onClick={() => setZoneForm({ zone: null })} disabled={!s} data-testid="new-zone">
            New zone
          </NewButton>
        )}
      </Group>
      <DataTable
        testId="zones-table"
        minWidth={640}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Purdue level</Table.Th>
            <Table.Th>Target SL</Table.Th>
            <Table.Th>Description</Table.Th>
            {admin && <Table.Th w={90} />}
          </>
        }
        status={{
          colSpan: cols,
          loading: zones.isPending,
          error: zones.error,
          empty: zoneItems.length === 0,
          emptyText: 'No zones yet. Assets can still be placed directly at a Purdue level.',
        }}
      >
        {zoneItems.map((z) => (
          <Table.Tr key={z.id} data-testid="zone-row">
            <Table.Td fw={500}>
              <Anchor component={Link} to={`/assets?siteId=${siteId}&zoneId=${z.id}`} size="sm" fw={500}>
                {z.name}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{purdueLabel(z.purdueLevel)}</Text>
            </Table.Td>
            <Table.Td>
              <Badge variant="light" color={SL_COLOR[z.targetSecurityLevel] ?? 'gray'}>
                SL{z.targetSecurityLevel}
              </Badge>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed" lineClamp={2}>
                {z.description || '—'}
              </Text>
            </Table.Td>
            {admin && (
              <RowActions>
                <EditAction label={`Edit zone ${z.name}`} onClick={() => setZoneForm({ zone: z })} />
                <DeleteAction label={`Delete zone ${z.name}`} onClick={() => del.ask(z)} />
              </RowActions>
            )}
          </Table.Tr>
        ))}
      </DataTable>

      {s && <SiteFormModal opened={editSite} site={s} onClose={() => setEditSite(false)} />}
      {s && (
        <ZoneFormModal opened={zoneForm !== null} siteId={s.id} siteName={s.name} zone={zoneForm?.zone ?? null} onClose={() => setZoneForm(null)} />
      )}
      <ConfirmModal {...del.modal} title="Delete zone" confirmLabel="Delete zone">
        <Text size="sm">
          Delete zone <b>{del.target?.name}</b>? The gateway refuses while assets are still placed in it.
        </Text>
      </ConfirmModal>
    </>
  );
}

function Info({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <Card withBorder padding="sm" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" fw={500} mt={4} component="div">
        {value ?? <Skeleton h={16} w={80} />}
      </Text>
    </Card>
  );
}
