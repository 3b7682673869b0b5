import { Anchor, Badge, Button, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import { type ComponentProps, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { type BrokeredSession, PROTOCOL_LABELS, SESSION_STATE_COLOR } from '../api/types';
import { formatDateTime, formatDuration } from '../common/format';
import { IconEye, IconPlayerPlay, IconPlayerStop } from '../common/icons';
import { DataTable } from '../common/table';

/** Re-renders every second while `on` (ticking durations). */
export function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

function liveSeconds(s: BrokeredSession, now: number): number | null {
  if (s.state === 'active' && s.startedAt) return (now - Date.parse(s.startedAt)) / 1000;
  return s.durationSeconds;
}

interface Props {
  kind: 'live' | 'history';
  items: BrokeredSession[];
  status: ComponentProps<typeof DataTable>['status'];
  canTerminate: boolean;
  onTerminate: (s: BrokeredSession) => void;
}

export const SESSION_COLUMNS = { live: 10, history: 10 } as const;

/** Brokered sessions: the Active Sessions page (live, watch / terminate) and the History (play). */
export function BrokeredSessionsTable({ kind, items, status, canTerminate, onTerminate }: Props) {
  const now = useNow(items.some((s) => s.state === 'active'));
  const live = kind === 'live';
  return (
    <DataTable
      testId={live ? 'live-sessions-table' : 'history-table'}
      minWidth={1040}
      head={
        <>
          <Table.Th>ID</Table.Th>
          <Table.Th>User</Table.Th>
          <Table.Th>Asset</Table.Th>
          <Table.Th>Site</Table.Th>
          <Table.Th>Protocol</Table.Th>
          <Table.Th>Via</Table.Th>
          <Table.Th>Started</Table.Th>
          <Table.Th>Duration</Table.Th>
          <Table.Th>{live ? 'Watchers' : 'State'}</Table.Th>
          <Table.Th w={live ? 190 : 100} />
        </>
      }
      status={status}
    >
      {items.map((s) => {
        const isLive = s.state === 'active' || s.state === 'pending';
        return (
          <Table.Tr
            key={s.id}
            data-testid={live ? 'live-session-row' : 'history-row'}
            data-session-id={s.id}
            data-username={s.user.username}
            data-asset-name={s.asset.name}
            data-state={s.state}
          >
            <Table.Td>
              <Tooltip label={s.id} withArrow>
                <Text size="sm" className="pc-mono">
                  {s.id.slice(0, 8)}
                </Text>
              </Tooltip>
            </Table.Td>
            <Table.Td>
              <Text size="sm" fw={500}>
                {s.user.username}
              </Text>
              {s.sourceIp && (
                <Text size="xs" c="dimmed" className="pc-mono">
                  {s.sourceIp}
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <Anchor component={Link} to={`/assets/${s.asset.id}`} size="sm">
                {s.asset.name}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{s.site.name}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
                {PROTOCOL_LABELS[s.protocol]}{' '}
                <Text span size="xs" c="dimmed">
                  :{s.port}
                </Text>
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{s.via === 'browser' ? 'Browser' : 'SSH front door'}</Text>
              {s.command && (
                <Text size="xs" c="dimmed" className="pc-mono" truncate="end" maw={160} title={s.command}>
                  $ {s.command}
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
                {formatDateTime(s.startedAt ?? s.createdAt)}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" className="pc-mono" data-testid="session-duration">
                {formatDuration(liveSeconds(s, now))}
              </Text>
            </Table.Td>
            <Table.Td>
              {live ? (
                s.watchers.length ? (
                  <Group gap={4}>
                    {s.watchers.map((w) => (
                      <Badge key={`${w.name}|${w.since}`} size="sm" variant="light" color="yellow" tt="none" leftSection={<IconEye size={11} />}>
                        {w.name}
                      </Badge>
                    ))}
                  </Group>
                ) : (
                  <Text size="sm" c="dimmed">
                    —
                  </Text>
                )
              ) : (
                <Stack gap={2}>
                  <Badge size="sm" variant="light" color={SESSION_STATE_COLOR[s.state]} data-testid="session-state-badge">
                    {s.state}
                  </Badge>
                  {s.endMessage && (
                    <Text size="xs" c="dimmed" lineClamp={2} maw={220} title={s.endMessage}>
                      {s.endMessage}
                    </Text>
                  )}
                </Stack>
              )}
            </Table.Td>
            <Table.Td>
              <Group gap={6} justify="flex-end" wrap="nowrap">
                {isLive && s.state === 'active' && s.mayWatch !== false && (
                  <Button
                    component="a"
                    href={`/sessions/${s.id}/watch`}
                    target="_blank"
                    rel="noopener"
                    size="xs"
                    variant="light"
                    leftSection={<IconEye size={14} />}
                    aria-label={`Watch the session of ${s.user.username} on ${s.asset.name}`}
                    data-testid="session-watch"
                  >
                    Watch
                  </Button>
                )}
                {isLive && canTerminate && (
                  <Button
                    size="xs"
                    color="red"
                    leftSection={<IconPlayerStop size={13} />}
                    onClick={() => onTerminate(s)}
                    aria-label={`Terminate the session of ${s.user.username} on ${s.asset.name}`}
                    data-testid="session-terminate"
                  >
                    Terminate
                  </Button>
                )}
                {!isLive && s.recorded && (
                  <Button
                    component={Link}
                    to={`/sessions/${s.id}/play`}
                    size="xs"
                    variant="light"
                    leftSection={<IconPlayerPlay size={13} />}
                    aria-label={`Play the recording of ${s.user.username} on ${s.asset.name}`}
                    data-testid="session-play"
                  >
                    Play
                  </Button>
                )}
              </Group>
            </Table.Td>
          </Table.Tr>
        );
      })}
    </DataTable>
  );
}
