import { Badge, Button, Menu, Text } from '@mantine/core';
import { DEFAULT_PORTS, DISPLAY_PROTOCOLS, PROTOCOL_LABELS, type Protocol, SESSION_PROTOCOLS } from '../api/types';
import { IconChevronDown, IconScreen, IconTerminal } from '../common/icons';

export interface ConnectTarget {
  protocol: Protocol;
  port: number | null;
}

/** The session page of one access method: a plain link, so it opens in a new tab, can be bookmarked and reloaded. */
export function terminalHref(assetId: string, protocol: Protocol, port: number | null, accountId?: string): string {
  const q = new URLSearchParams({ assetId, protocol });
  const p = port ?? DEFAULT_PORTS[protocol];
  if (p !== null) q.set('port', String(p));
  if (accountId) q.set('accountId', accountId);
  return `/sessions/new?${q.toString()}`;
}

/**
 * "Connect" with one entry per access method. SSH and Telnet open the browser terminal, VNC and
 * RDP the remote display, each in a new tab; TCP tunnels are listed but not offered yet.
 */
export function ConnectMenu({ assetId, assetName, methods, size = 'xs' }: { assetId: string; assetName: string; methods: ConnectTarget[]; size?: 'xs' | 'sm' }) {
  const usable = methods.filter((m) => SESSION_PROTOCOLS.includes(m.protocol));
  return (
    <Menu position="bottom-end" withArrow shadow="md" width={230}>
      <Menu.Target>
        <Button
          size={size}
          variant="light"
          leftSection={<IconTerminal size={14} />}
          rightSection={<IconChevronDown size={12} />}
          aria-label={`Connect to ${assetName}`}
          data-testid="asset-connect"
          data-asset-name={assetName}
        >
          Connect
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Open a session to {assetName}</Menu.Label>
        {methods.map((m) =>
          SESSION_PROTOCOLS.includes(m.protocol) ? (
            <Menu.Item
              key={`${m.protocol}:${m.port}`}
              component="a"
              href={terminalHref(assetId, m.protocol, m.port)}
              target="_blank"
              rel="noopener"
              leftSection={DISPLAY_PROTOCOLS.includes(m.protocol) ? <IconScreen size={15} /> : <IconTerminal size={15} />}
              data-testid={`connect-${m.protocol}`}
              data-port={m.port ?? undefined}
            >
              {PROTOCOL_LABELS[m.protocol]}
              {m.port !== null && (
                <Text span c="dimmed" size="xs">
                  {' '}
                  · port {m.port}
                </Text>
              )}
            </Menu.Item>
          ) : (
            <Menu.Item
              key={`${m.protocol}:${m.port}`}
              disabled
              rightSection={
                <Badge size="xs" variant="light" color="gray">
                  coming soon
                </Badge>
              }
              data-testid={`connect-${m.protocol}`}
            >
              {PROTOCOL_LABELS[m.protocol]}
              {m.port !== null && (
                <Text span c="dimmed" size="xs">
                  {' '}
                  · port {m.port}
                </Text>
              )}
            </Menu.Item>
          ),
        )}
        {usable.length === 0 && (
          <Text size="xs" c="dimmed" px="sm" py={4}>
            The browser opens SSH, Telnet, VNC and RDP; this asset has none of them.
          </Text>
        )}
      </Menu.Dropdown>
    </Menu>
  );
}
