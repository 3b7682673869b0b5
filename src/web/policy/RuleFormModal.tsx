import { ActionIcon, Checkbox, Divider, Group, MultiSelect, NumberInput, SegmentedControl, Select, SimpleGrid, Switch, TagsInput, Text, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { useAll, useAllSites } from '../api/hooks';
import { type Asset, type Group as UserGroup, PROTOCOL_LABELS, PROTOCOLS, type Protocol, type User, type Zone } from '../api/types';
import { WeeklyWindowRow } from '../common/WeeklyWindow';
import { ProblemAlert } from '../common/errors';
import { DescriptionField, FormFooter, FormModal, NameField } from '../common/forms';
import { IconPlus } from '../common/icons';
import { type PolicyRule, type RuleInput, saveRule, usePolicyMutation } from './api';

const LEVELS = ['0', '1', '2', '3', '3.5', '4', '5'];
const PROTOCOL_DATA = PROTOCOLS.map((p) => ({ value: p, label: PROTOCOL_LABELS[p] }));
const ZONES = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

const EMPTY: RuleInput = {
  name: '', description: '', enabled: true, priority: 100, effect: 'allow',
  subjects: { everyone: true, users: [], groups: [] }, appliesTo: 'everyone',
  targets: { all: true, assets: [], sites: [], zones: [], tags: [], purdueLevels: [], namePatterns: [], safetyCritical: false },
  allowedProtocols: [], blockedProtocols: [], windows: null, timezone: null, validFrom: null, validUntil: null,
  approvals: { required: 0, groupId: null }, maxSessionMinutes: null, idleTimeoutMinutes: null, advanceNoticeHours: null,
  fileTransfer: { inbound: true, outbound: true }, clipboard: { toAsset: true, fromAsset: true }, watchRequired: false,
  sessionApproval: { required: 0, groupId: null }, breakGlass: false,
};

/** ISO -> the value of a datetime-local input (the browser's time), and back. */
const toLocalInput = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : null);
const num = (v: number | string) => (v === '' || v === undefined ? null : Number(v));

/** Create or edit a policy rule. */
export function RuleFormModal({ opened, rule, onClose }: { opened: boolean; rule: PolicyRule | null; onClose: () => void }) {
  const [r, setR] = useState<RuleInput>(EMPTY);
  const [submitted, setSubmitted] = useState(false);
  const save = usePolicyMutation(saveRule);
  const users = useAll<User>('users', {}, { enabled: opened });
  const groups = useAll<UserGroup>('groups', {}, { enabled: opened });
  const assets = useAll<Asset>('assets', {}, { enabled: opened });
  const zones = useAll<Zone>('zones', {}, { enabled: opened });
  const sites = useAllSites();

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    if (!rule) return setR(EMPTY);
    const { id: _i, labels: _l, createdAt: _c, updatedAt: _u, approvals, ...rest } = rule;
    setR({ ...rest, approvals: { required: approvals.required, groupId: approvals.groupId } });
  }, [opened, rule]);

  const set = (patch: Partial<RuleInput>) => setR((x) => ({ ...x, ...patch }));
  const setTargets = (patch: Partial<RuleInput['targets']>) => setR((x) => ({ ...x, targets: { ...x.targets, ...patch } }));
  const setSubjects = (patch: Partial<RuleInput['subjects']>) => setR((x) => ({ ...x, subjects: { ...x.subjects, ...patch } }));
  const windows = r.windows ?? [];
  const setWindow = (i: number, patch: Partial<(typeof windows)[number]>) => set({ windows: windows.map((w, j) => (j === i ? { ...w, ...patch } : w)) });
  const deny = r.effect === 'deny';
  const opts = useMemo(
    () => ({
      users: (users.data?.items ?? []).map((u) => ({ value: u.id, label: `${u.username}${u.affiliation === 'vendor' ? ' (vendor)' : ''}` })),
      permGroups: (groups.data?.items ?? []).filter((g) => g.kind === 'permission').map((g) => ({ value: g.id, label: g.name })),
      allGroups: (groups.data?.items ?? []).map((g) => ({ value: g.id, label: g.name })),
      assets: (assets.data?.items ?? []).map((a) => ({ value: a.id, label: a.name })),
      sites: (sites.data?.items ?? []).map((s) => ({ value: s.id, label: s.name })),
      zones: (zones.data?.items ?? []).map((z) => ({ value: z.id, label: `${z.siteName}/${z.name}` })),
    }),
    [users.data, groups.data, assets.data, sites.data, zones.data],
  );

  const nameProblem = !r.name.trim() ? 'Required' : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (nameProblem) return;
    // A deny rule carries no conditions: send the neutral values.
    const body: RuleInput = deny
      ? { ...r, allowedProtocols: [], blockedProtocols: [], approvals: { required: 0, groupId: null }, maxSessionMinutes: null, idleTimeoutMinutes: null, advanceNoticeHours: null, watchRequired: false, sessionApproval: { required: 0, groupId: null }, breakGlass: false, fileTransfer: { inbound: true, outbound: true }, clipboard: { toAsset: true, fromAsset: true } }
      : r;
    save.mutate({ id: rule?.id ?? null, body: { ...body, name: body.name.trim(), windows: body.windows?.length ? body.windows : null, timezone: body.windows?.length ? body.timezone : null } }, { onSuccess: onClose });
  };

  return (
    <FormModal opened={opened} onClose={onClose} title={rule ? `Edit rule ${rule.name}` : 'New policy rule'} size="xl" testId="rule-form" onSubmit={submit} closeOnClickOutside={false}>
      <ProblemAlert error={save.error} title={rule ? 'Rule not saved' : 'Rule not created'} />
      <NameField description="Unique, e.g. “Vendor hours” or “No safety systems”; reasons name it" value={r.name} onChange={(name) => set({ name })} error={submitted ? nameProblem : undefined} testId="rule-name" />
      <DescriptionField value={r.description} onChange={(description) => set({ description })} error={undefined} maxRows={3} testId="rule-description" />
      <Group gap="lg" align="flex-end">
        <SegmentedControl
          value={r.effect}
          onChange={(v) => set({ effect: v as RuleInput['effect'] })}
          data={[
            { value: 'allow', label: 'Allow with conditions' },
            { value: 'deny', label: 'Deny (prohibited targets)' },
          ]}
          data-testid="rule-effect"
        />
        <NumberInput label="Priority" description="Lower first" min={0} max={10000} w={110} value={r.priority} onChange={(v) => set({ priority: Number(v) || 0 })} />
        <Switch label="Enabled" checked={r.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} data-testid="rule-enabled" />
      </Group>

      <Divider label="Who" labelPosition="left" />
      <Group gap="lg" align="flex-end" wrap="wrap">
        <Switch label="Everyone" checked={r.subjects.everyone} onChange={(e) => setSubjects({ everyone: e.currentTarget.checked, ...(e.currentTarget.checked ? { users: [], groups: [] } : {}) })} data-testid="rule-everyone" />
        <Select
          label="Applies to"
          w={200}
          value={r.appliesTo}
          onChange={(v) => set({ appliesTo: (v ?? 'everyone') as RuleInput['appliesTo'] })}
          data={[
            { value: 'everyone', label: 'Employees and vendors' },
            { value: 'employees', label: 'Employees only' },
            { value: 'vendors', label: 'Vendors only' },
          ]}
          data-testid="rule-applies-to"
        />
      </Group>
      {!r.subjects.everyone && (
        <SimpleGrid cols={2}>
          <MultiSelect label="Users" searchable data={opts.users} value={r.subjects.users} onChange={(users) => setSubjects({ users })} data-testid="rule-users" />
          <MultiSelect label="Permission groups" searchable data={opts.permGroups} value={r.subjects.groups} onChange={(g) => setSubjects({ groups: g })} data-testid="rule-groups" />
        </SimpleGrid>
      )}

      <Divider label="Targets (an asset matching any of them)" labelPosition="left" />
      <Group gap="lg">
        <Switch label="All assets" checked={r.targets.all} onChange={(e) => setTargets(e.currentTarget.checked ? { all: true, assets: [], sites: [], zones: [], tags: [], purdueLevels: [], namePatterns: [] } : { all: false })} data-testid="rule-all-assets" />
        <Switch label="Only safety-critical assets" checked={r.targets.safetyCritical} onChange={(e) => setTargets({ safetyCritical: e.currentTarget.checked })} data-testid="rule-safety-critical" />
      </Group>
      {!r.targets.all && (
        <SimpleGrid cols={2}>
          <MultiSelect label="Assets" searchable data={opts.assets} value={r.targets.assets} onChange={(assets) => setTargets({ assets })} />
          <MultiSelect label="Sites" searchable data={opts.sites} value={r.targets.sites} onChange={(s) => setTargets({ sites: s })} />
          <MultiSelect label="Zones" searchable data={opts.zones} value={r.targets.zones} onChange={(z) => setTargets({ zones: z })} />
          <MultiSelect label="Purdue levels" data={LEVELS} value={r.targets.purdueLevels.map(String)} onChange={(l) => setTargets({ purdueLevels: l.map(Number) })} />
          <TagsInput label="Tags" value={r.targets.tags} onChange={(tags) => setTargets({ tags })} />
          <TagsInput label="Name patterns" description="* any text, ? one character, e.g. SIS-*" value={r.targets.namePatterns} onChange={(namePatterns) => setTargets({ namePatterns })} data-testid="rule-patterns" />
        </SimpleGrid>
      )}

      <Divider label={deny ? 'When the deny is in force' : 'When'} labelPosition="left" />
      <Group gap="sm" align="flex-end" wrap="wrap">
        <TextInput label="Valid from" type="datetime-local" value={toLocalInput(r.validFrom)} onChange={(e) => set({ validFrom: fromLocalInput(e.currentTarget.value) })} w={210} />
        <TextInput label="Valid until" type="datetime-local" value={toLocalInput(r.validUntil)} onChange={(e) => set({ validUntil: fromLocalInput(e.currentTarget.value) })} w={210} />
        <Select label="Time zone of the windows" placeholder="The asset's site time zone" clearable searchable data={ZONES} value={r.timezone} onChange={(timezone) => set({ timezone })} w={260} />
      </Group>
      {windows.map((w, i) => (
        <WeeklyWindowRow key={`${i}-${w.start}`} index={i} value={w} onChange={(patch) => setWindow(i, patch)} onRemove={() => set({ windows: windows.filter((_, j) => j !== i) })} testIds={{ row: 'rule-window' }} />
      ))}
      <Group gap="xs">
        <ActionIcon variant="light" aria-label="Add window" onClick={() => set({ windows: [...windows, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '06:00', end: '18:00' }] })} data-testid="rule-add-window">
          <IconPlus size={15} />
        </ActionIcon>
        <Text size="xs" c="dimmed">
          {windows.length ? 'Weekly windows (end exclusive; split overnight windows in two)' : 'No windows: any time'}
        </Text>
      </Group>

      {!deny && (
        <>
          <Divider label="Conditions" labelPosition="left" />
          <SimpleGrid cols={2}>
            <MultiSelect label="Allowed protocols" placeholder="Any" data={PROTOCOL_DATA} value={r.allowedProtocols} onChange={(v) => set({ allowedProtocols: v as Protocol[] })} />
            <MultiSelect label="Blocked protocols" data={PROTOCOL_DATA} value={r.blockedProtocols} onChange={(v) => set({ blockedProtocols: v as Protocol[] })} />
            <NumberInput label="Approvals needed" description="2 = dual authorization; never self-approval" min={0} max={10} value={r.approvals.required} onChange={(v) => set({ approvals: { ...r.approvals, required: Number(v) || 0, groupId: Number(v) ? r.approvals.groupId : null } })} data-testid="rule-approvals" />
            <Select label="Approver group" placeholder="Any administrator" clearable searchable disabled={!r.approvals.required} data={opts.allGroups} value={r.approvals.groupId} onChange={(groupId) => set({ approvals: { ...r.approvals, groupId } })} />
            <NumberInput label="Max. session (minutes)" placeholder="Gateway default" min={1} max={1440} value={r.maxSessionMinutes ?? ''} onChange={(v) => set({ maxSessionMinutes: num(v) })} data-testid="rule-max-session" />
            <NumberInput label="Idle timeout (minutes)" placeholder="Gateway default" min={1} max={1440} value={r.idleTimeoutMinutes ?? ''} onChange={(v) => set({ idleTimeoutMinutes: num(v) })} data-testid="rule-idle" />
            <NumberInput label="Advance notice for requests (hours)" placeholder="None" min={1} max={720} value={r.advanceNoticeHours ?? ''} onChange={(v) => set({ advanceNoticeHours: num(v) })} />
            <Switch mt="lg" label="A moderator must watch (the session pauses without one)" checked={r.watchRequired} onChange={(e) => set({ watchRequired: e.currentTarget.checked })} data-testid="rule-watch-required" />
            <NumberInput
              label="Live approvals per session"
              description="Each connection waits on the dashboard until approved; never by the user"
              min={0}
              max={10}
              value={r.sessionApproval.required}
              onChange={(v) => set({ sessionApproval: { required: Number(v) || 0, groupId: Number(v) ? r.sessionApproval.groupId : null } })}
              data-testid="rule-session-approvals"
            />
            <Select label="Live approver group" placeholder="Any administrator" clearable searchable disabled={!r.sessionApproval.required} data={opts.allGroups} value={r.sessionApproval.groupId} onChange={(groupId) => set({ sessionApproval: { ...r.sessionApproval, groupId } })} />
            <Switch
              mt="lg"
              label="Break-glass allowed (emergency access bypassing approvals, with a reason; all admins alerted, reviewed after)"
              checked={r.breakGlass}
              onChange={(e) => set({ breakGlass: e.currentTarget.checked })}
              data-testid="rule-break-glass"
            />
          </SimpleGrid>
          <Group gap="lg">
            <Checkbox label="Clipboard to the asset" checked={r.clipboard.toAsset} onChange={(e) => set({ clipboard: { ...r.clipboard, toAsset: e.currentTarget.checked } })} />
            <Checkbox label="Clipboard from the asset" checked={r.clipboard.fromAsset} onChange={(e) => set({ clipboard: { ...r.clipboard, fromAsset: e.currentTarget.checked } })} />
            <Checkbox label="File transfer in" checked={r.fileTransfer.inbound} onChange={(e) => set({ fileTransfer: { ...r.fileTransfer, inbound: e.currentTarget.checked } })} />
            <Checkbox label="File transfer out" checked={r.fileTransfer.outbound} onChange={(e) => set({ fileTransfer: { ...r.fileTransfer, outbound: e.currentTarget.checked } })} />
          </Group>
        </>
      )}
      <FormFooter onCancel={onClose} submitLabel={rule ? 'Save changes' : 'Create rule'} submitTestId="rule-save" saving={save.isPending} feedback={{ error: save.error, invalid: submitted && !!nameProblem }} />
    </FormModal>
  );
}
