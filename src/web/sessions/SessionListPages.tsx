import { Paper, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import type { Query } from '../api/client';
import { csvHref, useAllSites, useList } from '../api/hooks';
import type { BrokeredSession } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { ListFooter, listStatus } from '../common/table';
import { localToIso } from '../common/format';
import { ListPageHeader } from '../common/ui';
import { BrokeredSessionsTable, SESSION_COLUMNS } from './SessionsTable';
import { TerminateModal } from './TerminateModal';

const LIVE_KEYS = ['id', 'siteId', 'user', 'asset', 'state'] as const;
const HISTORY_KEYS = ['id', 'siteId', 'user', 'asset', 'state', 'from', 'to', 'text', 'in'] as const;

const LIVE_STATES = [
  { value: 'live', label: 'Live' },
  { value: 'active', label: 'Active' },
  { value: 'pending', label: 'Pending (logging in)' },
];
const ALL_STATES = [
  { value: 'live', label: 'Live (pending, active)' },
  { value: 'active', label: 'Active' },
  { value: 'pending', label: 'Pending' },
  { value: 'ended', label: 'Ended' },
  { value: 'terminated', label: 'Terminated' },
  { value: 'failed', label: 'Failed' },
  { value: 'interrupted', label: 'Interrupted' },
];

type CommonKey = (typeof LIVE_KEYS)[number];

function CommonFilters({
  f,
  set,
  states,
  stateRequired = false,
}: {
  f: Record<CommonKey, string>;
  set: (patch: Partial<Record<CommonKey, string | null>>) => void;
  states: { value: string; label: string }[];
  /** The state filter always has a value (Active Sessions: live by default). */
  stateRequired?: boolean;
}) {
  const sites = useAllSites();
  const siteOptions = (sites.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }));
  return (
    <>
      <FilterText label="ID" placeholder="3f2a9c1b" value={f.id} onChange={(v) => set({ id: v })} w={120} data-testid="filter-id" />
      <Select
        label="Site"
        placeholder="All sites"
        clearable
        searchable
        data={siteOptions}
        value={f.siteId || null}
        onChange={(v) => set({ siteId: v })}
        w={170}
        data-testid="filter-site"
      />
      <FilterText label="User" placeholder="username" value={f.user} onChange={(v) => set({ user: v })} w={140} data-testid="filter-user" />
      <FilterText label="Asset" placeholder="asset name" value={f.asset} onChange={(v) => set({ asset: v })} w={150} data-testid="filter-asset" />
      <Select
        label="State"
        placeholder="Any state"
        clearable={!stateRequired}
        allowDeselect={!stateRequired}
        data={states}
        value={f.state || null}
        onChange={(v) => set({ state: v })}
        w={170}
        data-testid="filter-state"
      />
    </>
  );
}

/** /sessions: who is connected where right now; watch over the shoulder, or end a session. */
export function ActiveSessionsPage() {
  const admin = useIsAdmin();
  const { values: f, set, active } = useUrlFilters(LIVE_KEYS, { state: 'live' });
  const filters: Query = { ...f, state: f.state || 'live' };
  const list = useList<BrokeredSession>('sessions', filters, { refetchInterval: 3000 });

  return (
    <>
      <ListPageHeader
        title="Active sessions"
        description="Brokered sessions open right now, refreshed every few seconds. Watch one read-only, or terminate it with a reason."
        csv={csvHref('sessions', filters)}
      />
      <Paper withBorder p="sm" mb="md" radius="md">
        <FilterBar mb={0} active={active} onClear={() => set({ id: null, siteId: null, user: null, asset: null, state: null })}>
          <CommonFilters f={{ ...f, state: f.state || 'live' }} set={set} states={LIVE_STATES} stateRequired />
        </FilterBar>
      </Paper>
      <SessionsList kind="live" list={list} empty={active ? 'No live session matches the filters.' : 'No live sessions right now.'} canTerminate={admin} />
    </>
  );
}

/** /sessions/history: every session, searchable by what was typed (or also shown); play the recordings. */
export function HistoryPage() {
  const admin = useIsAdmin();
  const { values: f, set, active } = useUrlFilters(HISTORY_KEYS, { in: 'typed' });
  const filters: Query = { ...f, from: localToIso(f.from), to: localToIso(f.to), in: f.text ? f.in || 'typed' : '' };
  const list = useList<BrokeredSession>('sessions', filters, { refetchInterval: 15_000 });

  return (
    <>
      <ListPageHeader
        title="Session history"
        description="Every brokered session with its recording. Search what was typed, or also what the asset showed."
        csv={csvHref('sessions', filters)}
      />
      <Paper withBorder p="sm" mb="md" radius="md">
        <Stack gap="sm">
          <FilterBar mb={0} active={active} onClear={() => set({ id: null, siteId: null, user: null, asset: null, state: null, from: null, to: null, text: null, in: null })}>
            <CommonFilters f={f} set={set} states={ALL_STATES} />
          </FilterBar>
          <FilterBar mb={0}>
            <TextInput type="datetime-local" label="From" value={f.from} onChange={(e) => set({ from: e.currentTarget.value })} w={200} data-testid="filter-from" />
            <TextInput type="datetime-local" label="To" value={f.to} onChange={(e) => set({ to: e.currentTarget.value })} w={200} data-testid="filter-to" />
            <FilterText
              label="Search the recordings"
              placeholder="e.g. rm -rf, systemctl stop, setpoint"
              value={f.text}
              onChange={(v) => set({ text: v })}
              w={300}
              data-testid="filter-text"
            />
            <SegmentedControl
              value={f.in || 'typed'}
              onChange={(v) => set({ in: v })}
              data={[
                { value: 'typed', label: 'Commands typed' },
                { value: 'all', label: 'Typed or shown' },
              ]}
              data-testid="filter-in"
            />
            {f.text && (
              <Text size="xs" c="dimmed" mb={8}>
                {f.in === 'all' ? 'Matches commands and the output the asset showed.' : 'Matches the commands users typed.'}
              </Text>
            )}
          </FilterBar>
        </Stack>
      </Paper>
      <SessionsList kind="history" list={list} empty={active ? 'No session matches the filters.' : 'No sessions yet.'} canTerminate={admin} />
    </>
  );
}

/** A sessions table with its footer and the terminate dialog (Active and History pages). */
function SessionsList({ kind, list, empty, canTerminate }: { kind: 'live' | 'history'; list: ReturnType<typeof useList<BrokeredSession>>; empty: string; canTerminate: boolean }) {
  const [terminating, setTerminating] = useState<BrokeredSession | null>(null);
  return (
    <>
      <BrokeredSessionsTable kind={kind} items={list.items} status={listStatus(list, SESSION_COLUMNS[kind], empty)} canTerminate={canTerminate} onTerminate={setTerminating} />
      <ListFooter list={list} noun="session" />
      <TerminateModal
        session={terminating ? { id: terminating.id, username: terminating.user.username, assetName: terminating.asset.name } : null}
        onClose={() => setTerminating(null)}
      />
    </>
  );
}
