import { Alert, Anchor, Badge, Group, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { PROTOCOLS, type Protocol, type ReachableAsset } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { AssetNameCell, HostCell, PurdueCell, SiteZoneCell } from '../common/assetCells';
import { DataTable } from '../common/table';
import { PageHeader } from '../common/ui';
import { ConnectMenu, type ConnectTarget } from '../sessions/connect';
import { WhyButton } from '../policy/WhyButton';
import { useInboxCount } from '../requests/api';

/**
 * GET /me/assets names protocols; ports come with `accessMethods` where the gateway sends them,
 * otherwise the protocol's default port is tried.
 */
type MyAsset = ReachableAsset & { accessMethods?: { protocol: Protocol; port: number }[] };

function targets(a: MyAsset): ConnectTarget[] {
  if (a.accessMethods?.length) return a.accessMethods.map((m) => ({ protocol: m.protocol, port: m.port }));
  return a.protocols.filter((p): p is Protocol => (PROTOCOLS as readonly string[]).includes(p)).map((protocol) => ({ protocol, port: null }));
}

/** A Client's start page: the assets granted to them (GET /api/v1/me/assets). */
export function MyAssets() {
  const me = useMe();
  const q = useQuery({
    queryKey: ['assets', 'mine'],
    queryFn: ({ signal }) => api.get<{ count: number; assets: MyAsset[] }>('/me/assets', undefined, signal),
  });
  const items = q.data?.assets ?? [];
  const approvals = useInboxCount();
  const toDecide = approvals.data?.count ?? 0;
  return (
    <>
      <PageHeader title="My assets" description={`Welcome, ${me.displayName || me.username}. These are the assets you are allowed to reach.`} />
      {toDecide > 0 && (
        <Alert color="orange" variant="light" mb="md" title="Access requests wait for your approval" data-testid="dashboard-approvals">
          <Text size="sm">
            <Text span fw={700} data-testid="dashboard-approvals-count">
              {toDecide}
            </Text>{' '}
            request{toDecide === 1 ? '' : 's'} to decide.{' '}
            <Anchor component={Link} to="/requests/inbox">
              Open Approvals
            </Anchor>
          </Text>
        </Alert>
      )}
      <Text size="sm" c="dimmed" mb="sm">
        Some assets need an approved access request first:{' '}
        <Anchor component={Link} to="/access" data-testid="my-assets-request-link">
          My access
        </Anchor>
        .
      </Text>
      <DataTable
        testId="my-assets-table"
        minWidth={760}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Site / zone</Table.Th>
            <Table.Th>Level</Table.Th>
            <Table.Th>Host</Table.Th>
            <Table.Th>Protocols</Table.Th>
            <Table.Th>Granted through</Table.Th>
            <Table.Th w={150} />
          </>
        }
        status={{ colSpan: 7, loading: q.isPending, error: q.error, empty: items.length === 0, emptyText: 'No assets are granted to you yet. Ask your administrator.' }}
      >
        {items.map((a) => (
          <Table.Tr key={a.id} data-testid="my-asset-row" data-asset-name={a.name}>
            <AssetNameCell name={a.name} safetyCritical={a.safetyCritical} />
            <SiteZoneCell site={<Text size="sm">{a.siteName}</Text>} zoneName={a.zoneName} />
            <PurdueCell level={a.purdueLevel} />
            <HostCell host={a.host} />
            <Table.Td>
              <Group gap={4}>
                {a.protocols.map((p) => (
                  <Badge key={p} variant="light" size="sm">
                    {p.toUpperCase()}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td>
              <Text size="xs" c="dimmed">
                {a.via.join('; ') || '—'}
              </Text>
            </Table.Td>
            <Table.Td>
              <Group gap={4} wrap="nowrap">
                <ConnectMenu assetId={a.id} assetName={a.name} methods={targets(a)} />
                <WhyButton assetId={a.id} assetName={a.name} methods={targets(a)} />
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
    </>
  );
}
