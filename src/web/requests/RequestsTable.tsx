import { Badge, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import type { ComponentProps, ReactNode } from 'react';
import { DAYS, PROTOCOL_LABELS } from '../api/types';
import { formatDateTime } from '../common/format';
import { DataTable } from '../common/table';
import { type AccessRequest, REQUEST_STATE_COLOR, REQUEST_STATE_LABEL } from './api';
import { formatDayInZone, formatInZone, formatRange } from './zone';

const DAY_LABEL: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** "Mon, Tue 14:00–18:00" for each weekly window. */
export function weeklyText(r: AccessRequest): string[] {
  return (r.recurrence?.windows ?? []).map((w) => `${[...w.days].sort((a, b) => DAYS.indexOf(a) - DAYS.indexOf(b)).map((d) => DAY_LABEL[d]).join(', ')} ${w.start}–${w.end}`);
}

/** Where the request's access stands: open now, next window, waiting, or over. */
export function windowStatus(r: AccessRequest): 'open' | 'upcoming' | 'pending' | 'closed' {
  if (r.state === 'pending') return 'pending';
  if (r.state === 'approved' && r.window) return r.window.open ? 'open' : 'upcoming';
  return 'closed';
}

export function StateBadge({ r }: { r: AccessRequest }) {
  const ended = r.state === 'approved' && !r.window;
  return (
    <Stack gap={2} align="flex-start">
      <Badge color={ended ? 'gray' : REQUEST_STATE_COLOR[r.state]} variant="light" data-testid="request-state" data-state={r.state}>
        {REQUEST_STATE_LABEL[r.state]}
        {ended ? ' (over)' : ''}
      </Badge>
      {r.extension && (
        <Tooltip label={`Extension to ${formatInZone(r.extension.end, r.timeZone)} (${r.timeZone}) waiting for approval`} withArrow>
          <Badge color="yellow" variant="outline" size="xs" data-testid="request-extension">
            extension pending
          </Badge>
        </Tooltip>
      )}
    </Stack>
  );
}

/** The window: one-off range or weekly windows, in the request's (site's) time zone, plus the current / next one. */
export function WindowCell({ r }: { r: AccessRequest }) {
  const weekly = weeklyText(r);
  return (
    <Table.Td data-testid="request-window">
      {weekly.length ? (
        <>
          <Text size="sm" fw={500}>
            Weekly {weekly.join('; ')}
          </Text>
          <Text size="xs" c="dimmed">
            {formatDayInZone(r.start, r.timeZone)} – {formatDayInZone(new Date(Date.parse(r.end) - 1), r.timeZone)} · {r.timeZone}
          </Text>
        </>
      ) : (
        <>
          <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
            {formatRange(r.start, r.end, r.timeZone)}
          </Text>
          <Text size="xs" c="dimmed">
            {r.timeZone}
          </Text>
        </>
      )}
      {r.window && (
        <Text size="xs" c={r.window.open ? 'teal' : 'blue'} fw={500} data-testid="request-next-window" data-open={r.window.open ? 'true' : 'false'}>
          {r.window.open ? `Open now until ${formatInZone(r.window.end, r.timeZone, false)}` : weekly.length ? `Next: ${formatRange(r.window.start, r.window.end, r.timeZone)}` : `Starts ${formatInZone(r.window.start, r.timeZone)}`}
        </Text>
      )}
    </Table.Td>
  );
}

/** "1 of 2" approvals of the current round, who approved, and the decision (denial reason). */
export function ApprovalsCell({ r }: { r: AccessRequest }) {
  const approved = r.approvals.filter((a) => a.decision === 'approve');
  const closed = r.state !== 'pending' && !r.extension;
  return (
    <Table.Td>
      <Text size="sm" data-testid="request-approvals">
        {closed && r.state === 'approved' ? 'Approved' : `${approved.length} of ${r.approvalsRequired}`}
        {r.approverGroup ? (
          <Text span size="xs" c="dimmed">
            {' '}
            · {r.approverGroup.name}
          </Text>
        ) : null}
      </Text>
      {r.approvals.map((a) => (
        <Text key={`${a.approverId}-${a.round}`} size="xs" c={a.decision === 'deny' ? 'red' : 'dimmed'}>
          {a.decision === 'approve' ? '✓' : '✗'} {a.approver}
          {a.comment ? `: ${a.comment}` : ''}
        </Text>
      ))}
      {r.decidedBy && r.state !== 'approved' && r.state !== 'pending' && (
        <Text size="xs" c={r.state === 'denied' || r.state === 'revoked' ? 'red' : 'dimmed'} data-testid="request-decision">
          {REQUEST_STATE_LABEL[r.state]} by {r.decidedBy}
          {r.comment ? `: ${r.comment}` : ''}
        </Text>
      )}
    </Table.Td>
  );
}

interface Props {
  testId: string;
  items: AccessRequest[];
  status: ComponentProps<typeof DataTable>['status'];
  /** The requester column (lists of others' requests). */
  showRequester?: boolean;
  /** The row's buttons (none: no actions column). */
  actions?: (r: AccessRequest) => ReactNode;
}

export const requestColumns = (showRequester: boolean, actions: boolean) => 6 + (showRequester ? 1 : 0) + (actions ? 1 : 0);

/** Access requests: My access, the Approvals inbox and the Requests list. */
export function RequestsTable({ testId, items, status, showRequester = false, actions }: Props) {
  return (
    <DataTable
      testId={testId}
      minWidth={showRequester ? 1100 : 960}
      head={
        <>
          {showRequester && <Table.Th>Requester</Table.Th>}
          <Table.Th>Assets</Table.Th>
          <Table.Th>Access</Table.Th>
          <Table.Th>Purpose</Table.Th>
          <Table.Th>Window</Table.Th>
          <Table.Th>Approvals</Table.Th>
          <Table.Th>State</Table.Th>
          {actions && <Table.Th />}
        </>
      }
      status={status}
    >
      {items.map((r) => (
        <Table.Tr key={r.id} data-testid="request-row" data-request-id={r.id} data-state={r.state} data-when={windowStatus(r)} data-requester={r.requester.username} data-ticket={r.ticket ?? ''}>
          {showRequester && (
            <Table.Td>
              <Text size="sm" fw={500}>
                {r.requester.username}
              </Text>
              {r.createdBy.username !== r.requester.username && (
                <Text size="xs" c="dimmed">
                  by {r.createdBy.username}
                </Text>
              )}
            </Table.Td>
          )}
          <Table.Td>
            {r.assets.map((a) => (
              <Text key={a.id} size="sm" fw={500}>
                {a.name}
              </Text>
            ))}
          </Table.Td>
          <Table.Td>
            <Group gap={4}>
              {r.protocols.map((p) => (
                <Badge key={p} variant="light" size="sm">
                  {PROTOCOL_LABELS[p]}
                </Badge>
              ))}
            </Group>
          </Table.Td>
          <Table.Td maw={280}>
            <Text size="sm" lineClamp={3} title={r.purpose} data-testid="request-row-purpose">
              {r.purpose}
            </Text>
            <Text size="xs" c="dimmed">
              {r.ticket ? (
                <Text span size="xs" className="pc-mono" data-testid="request-ticket">
                  {r.ticket}
                </Text>
              ) : (
                'no ticket'
              )}{' '}
              · asked {formatDateTime(r.createdAt)}
            </Text>
          </Table.Td>
          <WindowCell r={r} />
          <ApprovalsCell r={r} />
          <Table.Td>
            <StateBadge r={r} />
          </Table.Td>
          {actions && (
            <Table.Td>
              <Group gap={4} justify="flex-end" wrap="nowrap">
                {actions(r)}
              </Group>
            </Table.Td>
          )}
        </Table.Tr>
      ))}
    </DataTable>
  );
}
