import { Anchor, Badge, Button, Card, Group, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ApiError, api } from '../api/client';
import { type Asset, PROTOCOL_LABELS, purdueLabel } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconArrowLeft, IconEdit, IconHistory, IconShield } from '../common/icons';
import { ConnectMenu } from '../sessions/connect';
import { AssetFormModal } from './AssetFormModal';
import { HostKeys, VaultAccounts } from './VaultSections';

function Info({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Card withBorder padding="sm" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" fw={500} mt={4} component="div">
        {children}
      </Text>
    </Card>
  );
}

/** /assets/:assetId: the asset's facts, Connect, its vault accounts and pinned SSH host keys. */
export function AssetDetailPage() {
  const { assetId = '' } = useParams();
  const admin = useIsAdmin();
  const [editing, setEditing] = useState(false);
  const asset = useQuery({ queryKey: ['assets', 'one', assetId], queryFn: ({ signal }) => api.get<Asset>(`/assets/${assetId}`, undefined, signal) });
  const a = asset.data;

  const back = (
    <Anchor component={Link} to="/assets" size="sm" c="dimmed">
      <Group gap={4}>
        <IconArrowLeft size={14} /> All assets
      </Group>
    </Anchor>
  );
  if (asset.isError) {
    return (
      <>
        {back}
        <ProblemAlert error={asset.error} title={asset.error instanceof ApiError && asset.error.status === 404 ? 'This asset does not exist (any more)' : 'Could not load the asset'} />
      </>
    );
  }

  return (
    <>
      {back}
      <Group justify="space-between" align="flex-end" mt="xs" mb="md">
        <div>
          <Group gap="xs">
            <Title order={2} fw={600} data-testid="asset-title">
              {a ? a.name : <Skeleton h={28} w={200} />}
            </Title>
            {a?.safetyCritical && (
              <Badge color="red" variant="light" leftSection={<IconShield size={12} />}>
                Safety-critical
              </Badge>
            )}
            {a?.state === 'imported' && (
              <Badge color="yellow" variant="light">
                imported, not active
              </Badge>
            )}
          </Group>
          <Text c="dimmed" size="sm">
            {a?.description || 'Asset'}
          </Text>
        </div>
        <Group gap="xs">
          <Button variant="default" component={Link} to={a ? `/sessions/history?asset=${encodeURIComponent(a.name)}` : '/sessions/history'} leftSection={<IconHistory size={16} />}>
            Sessions
          </Button>
          {admin && a && (
            <Button variant="default" leftSection={<IconEdit size={16} />} onClick={() => setEditing(true)}>
              Edit asset
            </Button>
          )}
          {a && a.state === 'active' && <ConnectMenu assetId={a.id} assetName={a.name} methods={a.accessMethods} size="sm" />}
        </Group>
      </Group>

      {a ? (
        <SimpleGrid cols={{ base: 2, md: 3, lg: 6 }} mb="lg">
          <Info label="Site / zone">
            <Anchor component={Link} to={`/sites/${a.siteId}`} size="sm">
              {a.siteName}
            </Anchor>
            <Text size="xs" c="dimmed">
              {a.zoneName ?? 'no zone'}
            </Text>
          </Info>
          <Info label="Purdue level">{purdueLabel(a.purdueLevel).split(' – ')[0]}</Info>
          <Info label="Host">
            <span className="pc-mono">{a.host}</span>
          </Info>
          <Info label="Access">
            <Group gap={4}>
              {a.accessMethods.map((m) => (
                <Badge key={`${m.protocol}:${m.port}`} variant="light" size="sm" tt="none">
                  {PROTOCOL_LABELS[m.protocol]?.replace(' tunnel', '') ?? m.protocol} {m.port}
                </Badge>
              ))}
            </Group>
          </Info>
          <Info label="Vendor / model">{[a.vendor, a.model, a.firmware].filter(Boolean).join(' · ') || '—'}</Info>
          <Info label="Last changed">{formatDateTime(a.updatedAt)}</Info>
        </SimpleGrid>
      ) : (
        <Skeleton h={70} mb="lg" />
      )}

      {a && (
        <Stack gap="lg">
          <VaultAccounts assetId={a.id} assetName={a.name} />
          <HostKeys assetId={a.id} />
        </Stack>
      )}
      {a && <AssetFormModal opened={editing} asset={a} onClose={() => setEditing(false)} />}
    </>
  );
}
