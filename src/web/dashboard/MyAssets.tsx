import { Badge, Group, Table, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { purdueLabel, purdueShort } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { IconShield } from '../common/icons';
import { PageHeader, TableStatus } from '../common/ui';

interface ReachableAsset {
  id: string;
  name: string;
  siteName: string;
  zoneName: string | null;
  purdueLevel: number;
  host: string;
  protocols: string[];
  safetyCritical: boolean;
  via: string[];
}

/** A Client's start page: the assets granted to them (GET /api/v1/me/assets). */
export function MyAssets() {
  const me = useMe();
  const q = useQuery({
    queryKey: ['assets', 'mine'],
    queryFn: ({ signal }) => api.get<{ count: number; assets: ReachableAsset[] }>('/me/assets', undefined, signal),
  });
  const items = q.data?.assets ?? [];
  return (
    <>
      <PageHeader title="My assets" description={`Welcome, ${me.displayName || me.username}. These are the assets you are allowed to reach.`} />
      <div className="pc-table-wrap">
        <Table.ScrollContainer minWidth={760}>
          <Table data-testid="my-assets-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Site / zone</Table.Th>
                <Table.Th>Level</Table.Th>
                <Table.Th>Host</Table.Th>
                <Table.Th>Protocols</Table.Th>
                <Table.Th>Granted through</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <TableStatus colSpan={6} loading={q.isPending} error={q.error} empty={items.length === 0} emptyText="No assets are granted to you yet. Ask your administrator." />
              {items.map((a) => (
                <Table.Tr key={a.id}>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Text size="sm" fw={500}>
                        {a.name}
                      </Text>
                      {a.safetyCritical && (
                        <Badge color="red" variant="light" size="sm" leftSection={<IconShield size={11} />}>
                          SC
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{a.siteName}</Text>
                    <Text size="xs" c="dimmed">
                      {a.zoneName ?? 'no zone'}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Tooltip label={purdueLabel(a.purdueLevel)} withArrow>
                      <Badge variant="outline" color="gray" size="sm">
                        {purdueShort(a.purdueLevel)}
                      </Badge>
                    </Tooltip>
                  </Table.Td>
                  <Table.Td>
                    <span className="pc-mono">{a.host}</span>
                  </Table.Td>
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
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </div>
    </>
  );
}
