import { ActionIcon, Alert, Chip, Divider, Group, List, MultiSelect, NumberInput, SegmentedControl, Select, SimpleGrid, Text, Textarea, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client';
import { useAll } from '../api/hooks';
import { type LoginWindow, PROTOCOL_LABELS, PROTOCOLS, type Protocol, type User } from '../api/types';
import { WeeklyWindowRow } from '../common/WeeklyWindow';
import { useIsAdmin, useMe } from '../auth/AuthProvider';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { IconAlert, IconPlus } from '../common/icons';
import { type AccessRequest, createRequest, type RequestInput, useRequestableAssets, useRequestMutation } from './api';
import { BROWSER_ZONE, formatInZone, formatMinutes, toZonedInput, zonedToUtc } from './zone';

/** Shown next to their inputs; everything else goes into the alert. */
const INLINE = ['/userId', '/assets', '/protocols', '/purpose', '/ticket', '/start', '/durationMinutes', '/recurrence'];

interface FormState {
  userId: string | null;
  assets: string[];
  protocols: Protocol[];
  purpose: string;
  ticket: string;
  mode: 'once' | 'weekly';
  /** Wall clock in the site's time zone ("YYYY-MM-DDTHH:MM"). */
  start: string;
  duration: number | string;
  from: string;
  until: string;
  windows: LoginWindow[];
}

function initial(): FormState {
  const tomorrow = new Date(Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000);
  const today = toZonedInput(new Date(), BROWSER_ZONE).slice(0, 10);
  const inAMonth = toZonedInput(new Date(Date.now() + 30 * 86_400_000), BROWSER_ZONE).slice(0, 10);
  return {
    userId: null, assets: [], protocols: [], purpose: '', ticket: '', mode: 'once',
    start: toZonedInput(tomorrow, BROWSER_ZONE), duration: 120, from: today, until: inAMonth,
    windows: [{ days: ['tue'], start: '14:00', end: '18:00' }],
  };
}

/** The 422 answer: every policy violation, one per line. */
function PolicyViolations({ error }: { error: ApiError }) {
  const reasons = error.fieldErrors.map((e) => e.message);
  return (
    <Alert color="red" variant="light" icon={<IconAlert />} title="Refused by the access policy" role="alert" data-testid="request-violations">
      <Text size="sm">Nothing was submitted. Change the request so that it fits the rules:</Text>
      <List size="sm" mt="xs" spacing={2}>
        {(reasons.length ? reasons : [error.problem.detail ?? error.problem.title]).map((m) => (
          <List.Item key={m} data-testid="request-violation">
            {m}
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}

/**
 * Request access: assets, access methods, purpose, ticket, and a window (start + duration, or
 * weekly windows until a day) in the site's time zone. An Administrator may ask for someone else
 * (e.g. a vendor). The gateway checks everything (400 fields, 422 policy, 409 overlap).
 */
export function RequestFormModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (r: AccessRequest) => void }) {
  const me = useMe();
  const admin = useIsAdmin();
  const [f, setF] = useState<FormState>(initial);
  const save = useRequestMutation(createRequest);
  const users = useAll<User>('users', {}, { enabled: opened && admin });
  const forOther = f.userId && f.userId !== me.id ? f.userId : null;
  const assets = useRequestableAssets(forOther, opened);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setF(initial());
  }, [opened]);

  const set = (patch: Partial<FormState>) => setF((x) => ({ ...x, ...patch }));
  const byId = useMemo(() => new Map((assets.data ?? []).map((a) => [a.id, a])), [assets.data]);
  const assetOptions = (assets.data ?? []).map((a) => ({ value: a.id, label: `${a.name} (${a.siteName}${a.zoneName ? ` / ${a.zoneName}` : ''})` }));
  // The access methods the chosen assets offer.
  const offered = useMemo(() => {
    const s = new Set<string>();
    for (const id of f.assets) for (const p of byId.get(id)?.protocols ?? []) s.add(p);
    return PROTOCOLS.filter((p) => s.has(p));
  }, [f.assets, byId]);
  useEffect(() => {
    setF((x) => {
      const kept = x.protocols.filter((p) => offered.includes(p));
      const next = kept.length || !offered.length ? kept : [offered[0]!];
      return next.length === x.protocols.length && next.every((p, i) => p === x.protocols[i]) ? x : { ...x, protocols: next };
    });
  }, [offered]);

  // The site's time zone (the first asset's, as GET /me/assets or /users/:id/reachable-assets
  // name it): the window is entered and shown in it, and the server defaults to the same zone.
  const first = f.assets[0];
  const siteZone = first ? byId.get(first)?.siteTimezone : undefined;
  const tz = siteZone ?? BROWSER_ZONE;
  const tzKnown = !!siteZone;

  const startAt = zonedToUtc(f.start, tz);
  const minutes = typeof f.duration === 'number' ? f.duration : Number(f.duration);
  const endAt = startAt && Number.isFinite(minutes) && minutes > 0 ? new Date(startAt.getTime() + minutes * 60_000) : null;

  const errs = fieldErrors(save.error);
  const policy = save.error instanceof ApiError && save.error.status === 422 ? save.error : null;
  const windowErrors = save.error instanceof ApiError ? save.error.fieldErrors.filter((e) => e.path?.startsWith('/recurrence/windows')) : [];

  const setWindow = (i: number, patch: Partial<LoginWindow>) => set({ windows: f.windows.map((w, j) => (j === i ? { ...w, ...patch } : w)) });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const base = { assets: f.assets, protocols: f.protocols, purpose: f.purpose, ticket: f.ticket.trim() || null, ...(forOther ? { userId: forOther } : {}) };
    let body: RequestInput;
    if (f.mode === 'once') {
      body = { ...base, start: startAt?.toISOString() ?? f.start, durationMinutes: Number.isFinite(minutes) ? minutes : (f.duration as unknown as number) };
    } else {
      // The series runs from the start of that day in the site's zone (or from now, for today).
      const dayStart = zonedToUtc(`${f.from}T00:00`, tz);
      const soon = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
      const start = dayStart && dayStart > soon ? dayStart : dayStart ? soon : null;
      body = { ...base, start: start?.toISOString() ?? f.from, recurrence: { windows: f.windows, until: f.until }, ...(tzKnown ? { timeZone: tz } : {}) };
    }
    save.mutate(body, {
      onSuccess: (r) => {
        onCreated(r);
        onClose();
      },
    });
  };

  return (
    <FormModal opened={opened} onClose={onClose} title="Request access" size="xl" testId="request-form" onSubmit={submit} closeOnClickOutside={false}>
      {policy ? <PolicyViolations error={policy} /> : <ProblemAlert error={save.error} inlinePaths={INLINE} title="Request not submitted" />}
      {admin && (
        <Select
          label="For user"
          description="Administrators may request on behalf of someone else, e.g. a vendor"
          placeholder={`Myself (${me.username})`}
          clearable
          searchable
          data={(users.data?.items ?? []).filter((u) => u.id !== me.id).map((u) => ({ value: u.id, label: `${u.username}${u.affiliation === 'vendor' ? ' (vendor)' : ''}` }))}
          value={forOther}
          onChange={(userId) => set({ userId, assets: [], protocols: [] })}
          error={errs.get('/userId')}
          data-testid="request-user"
        />
      )}
      <MultiSelect
        label="Assets"
        description={forOther ? 'The assets granted to that user' : 'The assets granted to you'}
        placeholder={assets.isPending ? 'Loading…' : assetOptions.length ? 'Search by name' : 'No assets are granted'}
        searchable
        required
        data={assetOptions}
        value={f.assets}
        onChange={(ids) => set({ assets: ids })}
        error={errs.get('/assets') ?? (assets.error ? 'Could not load the assets' : undefined)}
        nothingFoundMessage="No granted asset matches"
        maxValues={20}
        data-testid="request-assets"
      />
      <div>
        <Text size="sm" fw={500} mb={4}>
          Access methods
        </Text>
        <Chip.Group multiple value={f.protocols} onChange={(v) => set({ protocols: PROTOCOLS.filter((p) => (v as string[]).includes(p)) })}>
          <Group gap={6} data-testid="request-protocols">
            {(offered.length ? offered : []).map((p) => (
              <Chip key={p} value={p} size="sm" variant="outline" data-testid={`request-protocol-${p}`}>
                {PROTOCOL_LABELS[p]}
              </Chip>
            ))}
            {!offered.length && (
              <Text size="xs" c="dimmed">
                Choose the assets first
              </Text>
            )}
          </Group>
        </Chip.Group>
        {errs.get('/protocols') && (
          <Text size="xs" c="red" mt={4}>
            {errs.get('/protocols')}
          </Text>
        )}
      </div>
      <Textarea
        label="Purpose"
        description="What the access is for; the approvers read it"
        required
        autosize
        minRows={2}
        maxRows={5}
        value={f.purpose}
        onChange={(e) => set({ purpose: e.currentTarget.value })}
        error={errs.get('/purpose')}
        data-testid="request-purpose"
      />
      <TextInput label="Ticket reference" description="Optional, e.g. CHG-1042" value={f.ticket} onChange={(e) => set({ ticket: e.currentTarget.value })} error={errs.get('/ticket')} w={260} data-testid="request-ticket" />

      <Divider label="When" labelPosition="left" />
      <Group justify="space-between" align="flex-end">
        <SegmentedControl
          value={f.mode}
          onChange={(v) => set({ mode: v as FormState['mode'] })}
          data={[
            { value: 'once', label: 'One window' },
            { value: 'weekly', label: 'Weekly (maintenance contract)' },
          ]}
          data-testid="request-mode"
        />
        <Text size="sm" c="dimmed" data-testid="request-zone">
          Times in <b>{tz}</b> {tzKnown ? '(the site’s time zone)' : '(choose an asset for its site’s time zone)'}
        </Text>
      </Group>
      {f.mode === 'once' ? (
        <SimpleGrid cols={2}>
          <TextInput
            type="datetime-local"
            label={`Start (${tz})`}
            required
            value={f.start}
            onChange={(e) => set({ start: e.currentTarget.value })}
            error={errs.get('/start')}
            description={startAt && tz !== BROWSER_ZONE ? `Your time: ${formatInZone(startAt, BROWSER_ZONE)} (${BROWSER_ZONE})` : 'Must be in the future'}
            data-testid="request-start"
          />
          <NumberInput
            label="Duration (minutes)"
            required
            min={1}
            step={30}
            value={f.duration}
            onChange={(duration) => set({ duration })}
            error={errs.get('/durationMinutes')}
            description={endAt ? `${formatMinutes(minutes)}, until ${formatInZone(endAt, tz)}` : 'At most 7 days'}
            data-testid="request-duration"
          />
        </SimpleGrid>
      ) : (
        <>
          <SimpleGrid cols={2}>
            <TextInput type="date" label={`From (${tz})`} required value={f.from} onChange={(e) => set({ from: e.currentTarget.value })} error={errs.get('/start')} data-testid="request-from" />
            <TextInput type="date" label="Until (inclusive)" required value={f.until} onChange={(e) => set({ until: e.currentTarget.value })} error={errs.get('/recurrence/until')} data-testid="request-until" />
          </SimpleGrid>
          {f.windows.map((w, i) => (
            <WeeklyWindowRow
              key={`${i}-${w.start}`}
              index={i}
              value={w}
              onChange={(patch) => setWindow(i, patch)}
              onRemove={() => set({ windows: f.windows.filter((_, j) => j !== i) })}
              labels={['from', 'to']}
              testIds={{ row: 'request-window', start: 'request-window-start', end: 'request-window-end' }}
            />
          ))}
          <Group gap="xs">
            <ActionIcon variant="light" aria-label="Add window" onClick={() => set({ windows: [...f.windows, { days: ['thu'], start: '14:00', end: '18:00' }] })} data-testid="request-add-window">
              <IconPlus size={15} />
            </ActionIcon>
            <Text size="xs" c="dimmed">
              Weekly windows in {tz} (end exclusive; split overnight windows in two)
            </Text>
          </Group>
          {[...(errs.get('/recurrence') ? [errs.get('/recurrence')!] : []), ...windowErrors.map((e) => `${e.path?.replace('/recurrence/windows/', 'window #').replace(/#(\d+)/, (_m, n) => `#${Number(n) + 1}`)}: ${e.message}`)].map((m) => (
            <Text key={m} size="xs" c="red">
              {m}
            </Text>
          ))}
        </>
      )}
      <FormFooter onCancel={onClose} submitLabel="Submit request" submitTestId="request-submit" saving={save.isPending} feedback={{ error: save.error, invalid: false }} />
    </FormModal>
  );
}
