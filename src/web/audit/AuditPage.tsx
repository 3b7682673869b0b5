import { Alert, Autocomplete, Badge, Button, CloseButton, Code, Group, Modal, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Query } from '../api/client';
import { csvHref, useList } from '../api/hooks';
import type { AuditEvent, AuditVerifyResult, CheckpointReport } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { formatDateTime, localToIso } from '../common/format';
import { IconAlert, IconCheck, IconFingerprint, IconShield } from '../common/icons';
import { DataTable, ListFooter, listStatus } from '../common/table';
import { ListPageHeader } from '../common/ui';

const KEYS = ['action', 'actor', 'target', 'targetId', 'result', 'from', 'to'] as const;

/** Action prefixes offered in the filter (any other text works too: it matches as a prefix). */
const ACTION_PREFIXES = [
  'auth.', 'user.', 'mfa.', 'token.', 'group.', 'ldap_domain.', 'site.', 'zone.', 'asset.', 'vault.', 'grant.', 'policy.', 'request.', 'session.',
  'recording.', 'settings.', 'notify.', 'webhook.', 'vendor.', 'audit.',
];

type Verify = AuditVerifyResult & { checkpoints: CheckpointReport };

/**
 * System Management -> Audit log: every audited action, newest first, with the filters auditors ask
 * for (what, who, on what, outcome, when), the CSV of the filtered view, each event's details, and
 * the chain check: the hash chain and its signed checkpoints (docs/architecture.md "Audit chain").
 */
export function AuditPage() {
  const { values: f, set, active } = useUrlFilters(KEYS);
  const filters: Query = { ...f, from: localToIso(f.from), to: localToIso(f.to) };
  const list = useList<AuditEvent>('audit', filters, { refetchInterval: 15_000 });
  const [shown, setShown] = useState<AuditEvent | null>(null);

  return (
    <>
      <ListPageHeader
        title="Audit log"
        description="Every change, sign-in, session and decision, hash-chained as it is written. Filter it, export the view as CSV, and check that nothing was edited, inserted or deleted."
        csv={csvHref('audit', filters)}
      />
      <ChainCheck />
      <Paper withBorder p="sm" mb="md" radius="md">
        <Stack gap="sm">
          <FilterBar mb={0} active={active} onClear={() => set({ action: null, actor: null, target: null, targetId: null, result: null, from: null, to: null })}>
            <Autocomplete
              label="Action starts with"
              placeholder="e.g. session., user.login"
              data={ACTION_PREFIXES}
              value={f.action}
              onChange={(v) => set({ action: v.trim() })}
              w={210}
              data-testid="filter-action"
            />
            <FilterText label="Actor" placeholder="user name" value={f.actor} onChange={(v) => set({ actor: v })} w={180} data-testid="filter-actor" />
            <FilterText label="Target" placeholder="name contains" value={f.target} onChange={(v) => set({ target: v })} w={200} data-testid="filter-target" />
            <Select
              label="Result"
              placeholder="Any"
              clearable
              data={[
                { value: 'success', label: 'Success' },
                { value: 'failure', label: 'Failure' },
              ]}
              value={f.result || null}
              onChange={(v) => set({ result: v })}
              w={140}
              data-testid="filter-result"
            />
          </FilterBar>
          <FilterBar mb={0}>
            <TextInput type="datetime-local" label="From" value={f.from} onChange={(e) => set({ from: e.currentTarget.value })} w={200} data-testid="filter-from" />
            <TextInput type="datetime-local" label="To" value={f.to} onChange={(e) => set({ to: e.currentTarget.value })} w={200} data-testid="filter-to" />
            {f.targetId && (
              <Badge
                size="lg"
                variant="light"
                tt="none"
                mb={6}
                data-testid="filter-target-id"
                rightSection={<CloseButton size="xs" aria-label="Clear the target id" onClick={() => set({ targetId: null })} />}
              >
                Target id {f.targetId}
              </Badge>
            )}
          </FilterBar>
        </Stack>
      </Paper>
      <DataTable
        testId="audit-table"
        minWidth={900}
        head={
          <>
            <Table.Th>Time</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Target</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Details</Table.Th>
          </>
        }
        status={listStatus(list, 6, active ? 'No audit event matches the filters.' : 'No audit events yet.')}
      >
        {list.items.map((e) => (
          <Table.Tr key={e.seq} data-testid="audit-row" data-action={e.action} tabIndex={0} onClick={() => setShown(e)} onKeyDown={(k) => k.key === 'Enter' && setShown(e)} style={{ cursor: 'pointer' }}>
            <Table.Td>
              <Text size="sm">{formatDateTime(e.at)}</Text>
              <Text size="xs" c="dimmed">#{e.seq}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{e.actor.name}</Text>
              {e.sourceIp && <Text size="xs" c="dimmed">{e.sourceIp}</Text>}
            </Table.Td>
            <Table.Td>
              <Code>{e.action}</Code>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{e.target.name ?? e.target.id ?? '—'}</Text>
              {e.target.type && <Text size="xs" c="dimmed">{e.target.type}</Text>}
            </Table.Td>
            <Table.Td>
              <Badge color={e.result === 'success' ? 'teal' : 'red'} variant="light">
                {e.result}
              </Badge>
            </Table.Td>
            <Table.Td maw={320}>
              <Text size="xs" c="dimmed" truncate="end">
                {summary(e.details)}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
      <ListFooter list={list} noun="event" />
      <EventModal event={shown} onClose={() => setShown(null)} onTarget={(id) => { setShown(null); set({ targetId: id, target: null }); }} />
    </>
  );
}

/** One line of a details object: key=value pairs, nested values as JSON. */
function summary(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

function EventModal({ event: e, onClose, onTarget }: { event: AuditEvent | null; onClose: () => void; onTarget: (targetId: string) => void }) {
  return (
    <Modal opened={!!e} onClose={onClose} title={e ? `Audit event #${e.seq}` : ''} size="lg">
      {e && (
        <Stack gap="sm" data-testid="audit-event">
          <SimpleGrid cols={2} spacing="xs">
            <Field label="Time" value={`${formatDateTime(e.at)} (${e.at})`} />
            <Field label="Result" value={e.result} />
            <Field label="Actor" value={`${e.actor.name}${e.actor.id ? ` (${e.actor.id})` : ''}`} />
            <Field label="Source IP" value={e.sourceIp ?? '—'} />
            <Field label="Action" value={e.action} />
            <Field label="Target" value={[e.target.type, e.target.name, e.target.id].filter(Boolean).join(' · ') || '—'} />
          </SimpleGrid>
          <Text size="sm" fw={500}>
            Details
          </Text>
          <Code block data-testid="audit-event-details">
            {JSON.stringify(e.details, null, 2)}
          </Code>
          <Group justify="space-between">
            <Text size="xs" c="dimmed">
              Event id {e.id}
            </Text>
            {e.target.id && (
              <Button variant="light" size="xs" onClick={() => onTarget(e.target.id as string)} data-testid="audit-same-target">
                All events of this {e.target.type ?? 'target'}
              </Button>
            )}
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" style={{ wordBreak: 'break-all' }}>
        {value}
      </Text>
    </div>
  );
}

/** The chain check on request (it reads every event), and signing a checkpoint now. */
function ChainCheck() {
  const qc = useQueryClient();
  const verify = useQuery({ queryKey: ['audit', 'verify'], queryFn: ({ signal }) => api.get<Verify>('/audit/verify', undefined, signal), enabled: false, retry: false });
  const sign = useMutation({
    mutationFn: () => api.post<{ seq: number; at: string }>('/audit/checkpoints'),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['audit', 'list'] });
      if (verify.data) await verify.refetch();
    },
  });
  const v = verify.data;
  return (
    <Paper withBorder p="sm" mb="md" radius="md" data-testid="audit-chain">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Stack gap={4}>
          <Text fw={500} size="sm">
            Chain integrity
          </Text>
          {!v && !verify.isFetching && !verify.error && (
            <Text size="sm" c="dimmed">
              Checks every event's hash link and the gateway's signed checkpoints. It reads the whole log.
            </Text>
          )}
          {v && !verify.isFetching && <VerifyResult v={v} />}
          {verify.error && <ProblemAlert error={verify.error} title="Could not check the audit chain" />}
          {sign.error && <ProblemAlert error={sign.error} title="No checkpoint signed" />}
          {sign.data && (
            <Text size="xs" c="dimmed" data-testid="audit-signed">
              Signed a checkpoint at event #{sign.data.seq} ({formatDateTime(sign.data.at)}).
            </Text>
          )}
        </Stack>
        <Group gap="xs" wrap="nowrap">
          <Button variant="default" leftSection={<IconFingerprint size={16} />} onClick={() => sign.mutate()} loading={sign.isPending} data-testid="audit-sign">
            Sign checkpoint now
          </Button>
          <Button leftSection={<IconShield size={16} />} onClick={() => void verify.refetch()} loading={verify.isFetching} data-testid="audit-verify">
            Verify chain
          </Button>
        </Group>
      </Group>
    </Paper>
  );
}

function VerifyResult({ v }: { v: Verify }) {
  const cp = v.checkpoints;
  if (!v.ok) {
    const problem = v.problem ?? cp.problem;
    return (
      <Alert color="red" icon={<IconAlert size={18} />} title="The audit log was tampered with" data-testid="audit-verify-result" data-ok="false">
        {problem?.message ?? 'The chain does not verify.'}
        {problem && ` (event #${problem.seq})`}
      </Alert>
    );
  }
  return (
    <Alert color="teal" icon={<IconCheck size={18} />} title="Intact" data-testid="audit-verify-result" data-ok="true">
      {v.count} events, every hash link holds.{' '}
      {cp.latest ? `${cp.verified} signed checkpoint${cp.verified === 1 ? '' : 's'} match, the newest at event #${cp.latest.seq} (${formatDateTime(cp.latest.at)}).` : 'No signed checkpoint yet.'}
      {cp.untrusted > 0 && ` ${cp.untrusted} checkpoint${cp.untrusted === 1 ? ' is' : 's are'} signed by keys not trusted here.`}
    </Alert>
  );
}
