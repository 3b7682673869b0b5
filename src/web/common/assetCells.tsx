import { Anchor, Badge, Group, Table, Text, Tooltip } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { purdueLabel, purdueShort } from '../api/types';
import { IconShield } from './icons';

/** The "SC" mark of a safety-critical asset; `explained` adds a tooltip and an accessible name. */
function SafetyBadge({ explained }: { explained: boolean }) {
  const badge = (
    <Badge color="red" variant="light" size="sm" leftSection={<IconShield size={11} />} aria-label={explained ? 'Safety-critical' : undefined}>
      SC
    </Badge>
  );
  return explained ? (
    <Tooltip label="Safety-critical" withArrow>
      {badge}
    </Tooltip>
  ) : (
    badge
  );
}

/** Asset name (a link to the asset's page with `to`) with the safety-critical mark; `children` go below the name. */
export function AssetNameCell({ name, safetyCritical, explained = false, to, children }: { name: string; safetyCritical: boolean; explained?: boolean; to?: string; children?: ReactNode }) {
  return (
    <Table.Td>
      <Group gap={6} wrap="nowrap">
        {to ? (
          <Anchor component={Link} to={to} size="sm" fw={500} data-testid="asset-link">
            {name}
          </Anchor>
        ) : (
          <Text size="sm" fw={500}>
            {name}
          </Text>
        )}
        {safetyCritical && <SafetyBadge explained={explained} />}
      </Group>
      {children}
    </Table.Td>
  );
}

/** Site (as given: text or link) above the zone name. */
export function SiteZoneCell({ site, zoneName }: { site: ReactNode; zoneName: string | null }) {
  return (
    <Table.Td>
      {site}
      <Text size="xs" c="dimmed">
        {zoneName ?? 'no zone'}
      </Text>
    </Table.Td>
  );
}

export function PurdueCell({ level }: { level: number }) {
  return (
    <Table.Td>
      <Tooltip label={purdueLabel(level)} withArrow>
        <Badge variant="outline" color="gray" size="sm">
          {purdueShort(level)}
        </Badge>
      </Tooltip>
    </Table.Td>
  );
}

export function HostCell({ host }: { host: string }) {
  return (
    <Table.Td>
      <span className="pc-mono">{host}</span>
    </Table.Td>
  );
}
