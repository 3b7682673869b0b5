import { Alert, Anchor, Button, Paper, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { api, type Query } from '../api/client';
import { csvHref, useAll, useAllSites, useList } from '../api/hooks';
import type { Asset, User } from '../api/types';
import { useIsAdmin, useIsStaff, useMe } from '../auth/AuthProvider';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { IconBan, IconCheck, IconClock, IconPlus, IconTrash } from '../common/icons';
import { ListFooter, listStatus, RowAction } from '../common/table';
import { localToIso } from '../common/format';
import { ListPageHeader, PageHeader } from '../common/ui';
import { DecisionModal, ExtendModal, type RequestAction } from './ActionModals';
import { type AccessRequest, REQUEST_STATE_LABEL, REQUEST_STATES, useInbox } from './api';
import { RequestFormModal } from './RequestFormModal';
import { RequestsTable, requestColumns, windowStatus } from './RequestsTable';
import { formatInZone } from './zone';

/** The row buttons every request list shares: extend and cancel (requester; Administrators too), revoke (Administrators). */
function useRowActions() {
  const me = useMe();
  const admin = useIsAdmin();
  const [acting, setActing] = useState<{ r: AccessRequest; action: RequestAction } | null>(null);
  const [extending, setExtending] = useState<AccessRequest | null>(null);
  const render = (r: AccessRequest) => {
    const mine = r.requester.id === me.id;
    const open = r.state === 'pending' || (r.state === 'approved' && !!r.window);
    const label = r.assets.map((a) => a.name).join(', ');
    return (
      <>
        {open && r.state === 'approved' && !r.extension && (mine || admin) && (
          <RowAction tooltip="Extend (a new approval)" label={`Extend request for ${label}`} icon={IconClock} onClick={() => setExtending(r)} testId="request-extend" />
        )}
        {open && mine && <RowAction tooltip="Cancel" label={`Cancel request for ${label}`} icon={IconBan} danger onClick={() => setActing({ r, action: 'cancel' })} testId="request-cancel" />}
        {open && admin && !mine && <RowAction tooltip="Revoke" label={`Revoke request for ${label}`} icon={IconTrash} danger onClick={() => setActing({ r, action: 'revoke' })} testId="request-revoke" />}
      </>
    );
  };
  const modals = (
    <>
      <DecisionModal request={acting?.r ?? null} action={acting?.action ?? 'cancel'} onClose={() => setActing(null)} />
      <ExtendModal request={extending} onClose={() => setExtending(null)} />
    </>
  );
  return { render, modals };
}

/** /access: what I can reach now and when (approved windows), what waits for approval, and what is over. */
export function MyAccessPage() {
  const me = useMe();
  const [formOpen, setFormOpen] = useState(false);
  const [created, setCreated] = useState<AccessRequest | null>(null);
  // Fresh on every visit and every 10 s: a vendor waits here for a decision.
  const list = useList<AccessRequest>('requests', { userId: me.id }, { refetchInterval: 10_000, staleTime: 0 });
  const actions = useRowActions();
  const items = list.items;
  const now = items.filter((r) => windowStatus(r) === 'open');
  const upcoming = items.filter((r) => windowStatus(r) === 'upcoming');
  const pending = items.filter((r) => windowStatus(r) === 'pending');
  const closed = items.filter((r) => windowStatus(r) === 'closed').reverse();
  const cols = requestColumns(false, true);
  const section = (title: string, testId: string, rows: AccessRequest[], empty: string, hint?: string) => (
    <Stack gap={6} mb="lg" data-testid={testId}>
      <div>
        <Title order={4} fw={600}>
          {title}
        </Title>
        {hint && (
          <Text size="xs" c="dimmed">
            {hint}
          </Text>
        )}
      </div>
      <RequestsTable testId={`${testId}-table`} items={rows} status={{ ...listStatus(list, cols, empty), empty: rows.length === 0 }} actions={actions.render} />
    </Stack>
  );

  return (
    <>
      <PageHeader
        title="My access"
        description="What you can reach through approved access requests, and when. Standing access through grants is listed under My assets."
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={() => setFormOpen(true)} data-testid="request-access">
            Request access
          </Button>
        }
      />
      {created && (
        <Alert color="teal" variant="light" mb="md" withCloseButton onClose={() => setCreated(null)} title="Request submitted" data-testid="request-created">
          {created.assets.map((a) => a.name).join(', ')}: waiting for {created.approvalsRequired} approval{created.approvalsRequired === 1 ? '' : 's'}
          {created.approverGroup ? ` from ${created.approverGroup.name}` : ' from an administrator'}. It must be decided before {formatInZone(created.start, created.timeZone)} ({created.timeZone}).
        </Alert>
      )}
      {section('Reachable now', 'my-access-now', now, 'No approved window is open right now.', 'Connect from My assets while the window is open; sessions end when it closes.')}
      {section('Upcoming', 'my-access-upcoming', upcoming, 'No approved window ahead.')}
      {section('Waiting for approval', 'my-access-pending', pending, 'Nothing waits for approval.', 'A request not decided before its start expires.')}
      {section('Past and closed', 'my-access-closed', closed, 'Nothing yet.')}
      <ListFooter list={list} noun="request" />
      {actions.modals}
      <RequestFormModal opened={formOpen} onClose={() => setFormOpen(false)} onCreated={setCreated} />
    </>
  );
}

/** /requests/inbox: open requests and extensions I may decide. The gateway decides who may (403 / 409 shown as it says). */
export function InboxPage() {
  const inbox = useInbox({ refetchInterval: 15_000 });
  const [acting, setActing] = useState<{ r: AccessRequest; action: RequestAction } | null>(null);
  const items = inbox.data?.items ?? [];
  return (
    <>
      <PageHeader title="Approvals" description="Access requests and extensions waiting for your decision. Approve or deny with a comment; a denial needs a reason the requester will read." />
      <RequestsTable
        testId="inbox-table"
        items={items}
        showRequester
        status={{ colSpan: requestColumns(true, true), loading: inbox.isPending, error: inbox.error, empty: items.length === 0, emptyText: 'Nothing waits for your decision.' }}
        actions={(r) => (
          <>
            <Button size="xs" color="teal" variant="light" leftSection={<IconCheck size={14} />} onClick={() => setActing({ r, action: 'approve' })} data-testid="inbox-approve">
              Approve
            </Button>
            <Button size="xs" color="red" variant="light" leftSection={<IconBan size={14} />} onClick={() => setActing({ r, action: 'deny' })} data-testid="inbox-deny">
              Deny
            </Button>
          </>
        )}
      />
      <Text size="sm" c="dimmed" mt="sm" data-testid="inbox-count">
        {items.length ? `${items.length} waiting` : ''}
      </Text>
      <DecisionModal request={acting?.r ?? null} action={acting?.action ?? 'approve'} onClose={() => setActing(null)} />
    </>
  );
}

const LIST_KEYS = ['userId', 'assetId', 'siteId', 'state', 'from', 'to', 'ticket'] as const;

/** /requests (staff): every access request, filtered like the API (user, asset, site, state, window, ticket), with CSV. */
export function RequestsPage() {
  const staff = useIsStaff();
  const { values: f, set, active } = useUrlFilters(LIST_KEYS);
  const filters: Query = { ...f, from: localToIso(f.from), to: localToIso(f.to) };
  const list = useList<AccessRequest>('requests', filters, { refetchInterval: 30_000 });
  const users = useAll<User>('users', {}, { enabled: staff });
  const assets = useAll<Asset>('assets', { state: 'all' }, { enabled: staff });
  const sites = useAllSites();
  const actions = useRowActions();
  return (
    <>
      <ListPageHeader
        title="Access requests"
        description={
          <>
            Every request with its window, approvals and decision. Decide open ones in <Anchor component={Link} to="/requests/inbox">Approvals</Anchor>.
          </>
        }
        csv={csvHref('requests', filters)}
      />
      <Paper withBorder p="sm" mb="md" radius="md">
        <Stack gap="sm">
          <FilterBar mb={0} active={active} onClear={() => set({ userId: null, assetId: null, siteId: null, state: null, from: null, to: null, ticket: null })}>
            <Select label="User" placeholder="Everyone" clearable searchable data={(users.data?.items ?? []).map((u) => ({ value: u.id, label: u.username }))} value={f.userId || null} onChange={(v) => set({ userId: v })} w={170} data-testid="filter-user" />
            <Select label="Asset" placeholder="All assets" clearable searchable data={(assets.data?.items ?? []).map((a) => ({ value: a.id, label: a.name }))} value={f.assetId || null} onChange={(v) => set({ assetId: v })} w={180} data-testid="filter-asset" />
            <Select label="Site" placeholder="All sites" clearable searchable data={(sites.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))} value={f.siteId || null} onChange={(v) => set({ siteId: v })} w={170} data-testid="filter-site" />
            <Select label="State" placeholder="Any state" clearable data={REQUEST_STATES.map((s) => ({ value: s, label: REQUEST_STATE_LABEL[s] }))} value={f.state || null} onChange={(v) => set({ state: v })} w={150} data-testid="filter-state" />
          </FilterBar>
          <FilterBar mb={0}>
            <TextInput type="datetime-local" label="Window ends after" value={f.from} onChange={(e) => set({ from: e.currentTarget.value })} w={210} data-testid="filter-from" />
            <TextInput type="datetime-local" label="Window starts before" value={f.to} onChange={(e) => set({ to: e.currentTarget.value })} w={210} data-testid="filter-to" />
            <FilterText label="Ticket" placeholder="CHG-1042" value={f.ticket} onChange={(v) => set({ ticket: v })} w={160} data-testid="filter-ticket" />
          </FilterBar>
        </Stack>
      </Paper>
      <RequestsTable
        testId="requests-table"
        items={list.items}
        showRequester
        status={listStatus(list, requestColumns(true, true), active ? 'No request matches the filters.' : 'No access requests yet.')}
        actions={actions.render}
      />
      <ListFooter list={list} noun="request" />
      {actions.modals}
    </>
  );
}

/** /requests/:requestId (the link in the request emails): one request, with what I may do about it. */
export function RequestDetailPage() {
  const { requestId = '' } = useParams();
  const q = useQuery({ queryKey: ['requests', 'one', requestId], queryFn: ({ signal }) => api.get<AccessRequest>(`/requests/${requestId}`, undefined, signal) });
  const inbox = useInbox();
  const actions = useRowActions();
  const [acting, setActing] = useState<{ r: AccessRequest; action: RequestAction } | null>(null);
  const toDecide = (inbox.data?.items ?? []).some((r) => r.id === requestId);
  return (
    <>
      <PageHeader title="Access request" description={<Anchor component={Link} to="/access">My access</Anchor>} />
      <RequestsTable
        testId="request-detail-table"
        items={q.data ? [q.data] : []}
        showRequester
        status={{ colSpan: requestColumns(true, true), loading: q.isPending, error: q.error, empty: !q.data, emptyText: 'Not found.' }}
        actions={(r) => (
          <>
            {toDecide && (
              <>
                <Button size="xs" color="teal" variant="light" leftSection={<IconCheck size={14} />} onClick={() => setActing({ r, action: 'approve' })} data-testid="inbox-approve">
                  Approve
                </Button>
                <Button size="xs" color="red" variant="light" leftSection={<IconBan size={14} />} onClick={() => setActing({ r, action: 'deny' })} data-testid="inbox-deny">
                  Deny
                </Button>
              </>
            )}
            {actions.render(r)}
          </>
        )}
      />
      {actions.modals}
      <DecisionModal request={acting?.r ?? null} action={acting?.action ?? 'approve'} onClose={() => setActing(null)} />
    </>
  );
}
