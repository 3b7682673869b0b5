import { Button, Stack, Text, Title } from '@mantine/core';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { DEFAULT_PORTS } from '../api/types';
import { StaffOnly } from '../auth/StaffOnly';
import { SessionScreen } from './SessionScreen';

/** /sessions/new?assetId=..&protocol=ssh|telnet|vnc|rdp&port=..[&accountId=..]: a new session, full window. */
export function TerminalPage() {
  const [params] = useSearchParams();
  const assetId = params.get('assetId') ?? '';
  const protocol = params.get('protocol');
  const known = protocol === 'ssh' || protocol === 'telnet' || protocol === 'vnc' || protocol === 'rdp';
  const port = params.get('port') ? Number(params.get('port')) : known ? DEFAULT_PORTS[protocol] : null;
  const accountId = params.get('accountId') ?? undefined;
  if (!assetId || !known || port === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    return (
      <Stack align="center" gap="sm" py={80} data-testid="terminal-bad-link">
        <Title order={2}>This session link is not complete</Title>
        <Text c="dimmed">It needs an asset, a protocol (SSH, Telnet, VNC or RDP) and a port. Use "Connect" on the asset instead.</Text>
        <Button component={Link} to="/" variant="light">
          Back to the console
        </Button>
      </Stack>
    );
  }
  return <SessionScreen mode={{ kind: 'owner', assetId, protocol, port, ...(accountId ? { accountId } : {}) }} />;
}

/** /sessions/:id/watch: over the shoulder, read-only (Administrators and Operators). */
export function WatchPage() {
  const { sessionId = '' } = useParams();
  return (
    <StaffOnly>
      <SessionScreen mode={{ kind: 'watch', sessionId }} />
    </StaffOnly>
  );
}
