import { Badge, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import type { SessionInfo } from '../api/types';
import { describeUserAgent, formatDateTime, formatRelative } from './format';
import { IconLogout } from './icons';
import { DataTable, RowAction, RowActions } from './table';

const FACTOR_LABEL: Record<string, string> = {
  none: 'password only',
  totp: 'authenticator app',
  webauthn: 'security key',
  recovery: 'recovery code',
  'password-change': 'password change',
};

interface Props {
  items: SessionInfo[];
  loading: boolean;
  error: unknown;
  /** Row action "Sign out" (not offered for the current session). */
  onEnd?: (s: SessionInfo) => void;
  testId: string;
}

/** Console sessions: client, address, sign-in, last activity, second factor; the current one marked. */
export function SessionsTable({ items, loading, error, onEnd, testId }: Props) {
  const cols = onEnd ? 6 : 5;
  return (
    <DataTable
      testId={testId}
      minWidth={760}
      head={
        <>
          <Table.Th>Client</Table.Th>
          <Table.Th>Address</Table.Th>
          <Table.Th>Signed in</Table.Th>
          <Table.Th>Last activity</Table.Th>
          <Table.Th>Verified with</Table.Th>
          {onEnd && <Table.Th w={60} />}
        </>
      }
      status={{ colSpan: cols, loading, error, empty: items.length === 0, emptyText: 'No active sessions.' }}
    >
      {items.map((s) => (
        <Table.Tr key={s.id} data-testid="session-row" data-current={s.current ? 'true' : undefined}>
          <Table.Td>
            <Stack gap={0}>
              <Group gap={6}>
                <Text size="sm" fw={500}>
                  {describeUserAgent(s.userAgent)}
                </Text>
                {s.current && (
                  <Badge size="xs" variant="light" color="teal">
                    this session
                  </Badge>
                )}
                {s.stage !== 'complete' && (
                  <Badge size="xs" variant="light" color="yellow">
                    {s.stage === 'mfa' ? 'awaiting 2nd factor' : 'enrolling'}
                  </Badge>
                )}
              </Group>
              <Text size="xs" c="dimmed" truncate="end" maw={320} title={s.userAgent}>
                {s.userAgent || '—'}
              </Text>
            </Stack>
          </Table.Td>
          <Table.Td>
            <Text size="sm" className="pc-mono">
              {s.sourceIp ?? '—'}
            </Text>
          </Table.Td>
          <Table.Td>
            <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
              {formatDateTime(s.createdAt)}
            </Text>
          </Table.Td>
          <Table.Td>
            <Tooltip label={formatDateTime(s.lastSeenAt)} withArrow>
              <Text size="sm" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                {formatRelative(s.lastSeenAt)}
              </Text>
            </Tooltip>
          </Table.Td>
          <Table.Td>
            <Text size="sm" c={s.secondFactor && s.secondFactor !== 'none' ? undefined : 'dimmed'}>
              {s.secondFactor ? (FACTOR_LABEL[s.secondFactor] ?? s.secondFactor) : '—'}
            </Text>
          </Table.Td>
          {onEnd && (
            <RowActions>
              {!s.current && <RowAction tooltip="Sign out this session" label={`Sign out session from ${s.sourceIp ?? 'unknown address'}`} icon={IconLogout} danger onClick={() => onEnd(s)} testId="session-end" />}
            </RowActions>
          )}
        </Table.Tr>
      ))}
    </DataTable>
  );
}
