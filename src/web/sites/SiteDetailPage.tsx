import { ActionIcon, Anchor, Badge, Button, Card, Group, SimpleGrid, Skeleton, Table, Text, Title, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ApiError, api } from '../api/client';
import { useAll, useApiMutation } from '../api/hooks';
import { purdueLabel, type Site, type Zone } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconArrowLeft, IconEdit, IconPlus, IconServer, IconTrash } from '../common/icons';
import { ConfirmModal, TableStatus } from '../common/ui';
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
  const [deleting, setDeleting] = useState<Zone | null>(null);
  const removeZone = useApiMutation((z: Zone) => api.delete(`/zones/${z.id}`), ['zones', 'assets']);

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
          <Button leftSection={<IconPlus size={16} />} onClick={() => setZoneForm({ zone: null })} disabled={!s} data-testid="new-zone">
            New zone
          </Button>
        )}
      </Group>
      <div className="pc-table-wrap">
        <Table.ScrollContainer minWidth={640}>
          <Table data-testid="zones-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Purdue level</Table.Th>
                <Table.Th>Target SL</Table.Th>
                <Table.Th>Description</Table.Th>
                {admin && <Table.Th w={90} />}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <TableStatus
                colSpan={cols}
                loading={zones.isPending}
                error={zones.error}
                empty={zoneItems.length === 0}
                emptyText="No zones yet. Assets can still be placed directly at a Purdue level."
              />
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
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Tooltip label="Edit" withArrow>
                          <ActionIcon variant="subtle" color="gray" aria-label={`Edit zone ${z.name}`} onClick={() => setZoneForm({ zone: z })}>
                            <IconEdit size={17} />
                          </ActionIcon>
                        </Tooltip>
                        <Tooltip label="Delete" withArrow>
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Delete zone ${z.name}`}
                            onClick={() => {
                              removeZone.reset();
                              setDeleting(z);
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

      {s && <SiteFormModal opened={editSite} site={s} onClose={() => setEditSite(false)} />}
      {s && (
        <ZoneFormModal opened={zoneForm !== null} siteId={s.id} siteName={s.name} zone={zoneForm?.zone ?? null} onClose={() => setZoneForm(null)} />
      )}
      <ConfirmModal
        opened={deleting !== null}
        title="Delete zone"
        confirmLabel="Delete zone"
        danger
        loading={removeZone.isPending}
        error={removeZone.error}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && removeZone.mutate(deleting, { onSuccess: () => setDeleting(null) })}
      >
        <Text size="sm">
          Delete zone <b>{deleting?.name}</b>? The gateway refuses while assets are still placed in it.
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
