import { Badge, Stack, Table, Tabs, Text } from '@mantine/core';
import { useState } from 'react';
import { useIsAdmin } from '../auth/AuthProvider';
import { DataTable, DeleteAction, EditAction, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { apiUrl } from '../api/client';
import { deleteRule, type PolicyRule, usePolicyMutation, useRules } from './api';
import { DefaultsPanel } from './DefaultsPanel';
import { RuleFormModal } from './RuleFormModal';
import { WhatIfPanel } from './WhatIfPanel';

function who(r: PolicyRule): string {
  const aud = r.appliesTo === 'vendors' ? 'vendors' : r.appliesTo === 'employees' ? 'employees' : '';
  if (r.subjects.everyone) return aud ? `all ${aud}` : 'everyone';
  const names = [...r.subjects.users.map((u) => r.labels[u] ?? u), ...r.subjects.groups.map((g) => `group ${r.labels[g] ?? g}`)];
  return `${names.join(', ')}${aud ? ` (${aud} only)` : ''}`;
}

function targets(r: PolicyRule): string {
  const t = r.targets;
  const parts = t.all
    ? ['all assets']
    : [
        ...t.assets.map((a) => r.labels[a] ?? a),
        ...t.namePatterns,
        ...t.tags.map((x) => `tag ${x}`),
        ...t.zones.map((z) => `zone ${r.labels[z] ?? z}`),
        ...t.sites.map((s) => `site ${r.labels[s] ?? s}`),
        ...t.purdueLevels.map((l) => `L${l}`),
      ];
  return `${parts.join(', ') || 'assets'}${t.safetyCritical ? ' (safety-critical only)' : ''}`;
}

function conditions(r: PolicyRule): string {
  if (r.effect === 'deny') return r.windows || r.validFrom || r.validUntil ? 'in force during its windows / validity' : 'always';
  const c: string[] = [];
  if (r.approvals.required) c.push(`${r.approvals.required} approval${r.approvals.required > 1 ? 's' : ''}${r.approvals.groupId ? ` (${r.labels[r.approvals.groupId] ?? 'group'})` : ''}`);
  if (r.windows) c.push(`${r.windows.length} window${r.windows.length > 1 ? 's' : ''}`);
  if (r.allowedProtocols.length) c.push(`only ${r.allowedProtocols.join('/')}`);
  if (r.blockedProtocols.length) c.push(`no ${r.blockedProtocols.join('/')}`);
  if (r.maxSessionMinutes) c.push(`max ${r.maxSessionMinutes} min`);
  if (r.idleTimeoutMinutes) c.push(`idle ${r.idleTimeoutMinutes} min`);
  if (r.watchRequired) c.push('moderator');
  if (r.sessionApproval.required) c.push(`${r.sessionApproval.required} live approval${r.sessionApproval.required > 1 ? 's' : ''}${r.sessionApproval.groupId ? ` (${r.labels[r.sessionApproval.groupId] ?? 'group'})` : ''}`);
  if (r.breakGlass) c.push('break-glass');
  if (!r.clipboard.toAsset || !r.clipboard.fromAsset) c.push('clipboard restricted');
  if (!r.fileTransfer.inbound || !r.fileTransfer.outbound) c.push('file transfer restricted');
  if (r.validFrom || r.validUntil) c.push('validity');
  return c.join(', ') || '—';
}

/** Access policy: rules (allow with conditions, prohibited targets), Purdue-level defaults, "what if". */
export function PolicyPage() {
  const admin = useIsAdmin();
  const rules = useRules();
  const [form, setForm] = useState<{ rule: PolicyRule | null } | null>(null);
  const remove = usePolicyMutation(deleteRule);
  const del = useConfirmDelete(remove);

  return (
    <>
      <ListPageHeader
        title="Access policy"
        description="Every matching rule applies and the strictest wins: any deny wins, the most approvers, the shortest durations; clipboard and file transfer only if every rule permits them."
        csv={apiUrl('/policy/rules', { format: 'csv' })}
        create={admin && { label: 'New rule', testId: 'new-rule', onClick: () => setForm({ rule: null }) }}
      />
      <Tabs defaultValue="rules" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="rules" data-testid="tab-rules">
            Rules
          </Tabs.Tab>
          <Tabs.Tab value="defaults" data-testid="tab-defaults">
            Purdue defaults
          </Tabs.Tab>
          <Tabs.Tab value="what-if" data-testid="tab-what-if">
            What if
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="rules">
          <DataTable
            testId="rules-table"
            minWidth={900}
            head={
              <>
                <Table.Th w={60}>Prio.</Table.Th>
                <Table.Th>Rule</Table.Th>
                <Table.Th>Who</Table.Th>
                <Table.Th>Targets</Table.Th>
                <Table.Th>Conditions</Table.Th>
                <Table.Th w={admin ? 100 : 0} />
              </>
            }
            status={{ colSpan: 6, loading: rules.isPending, error: rules.error, empty: !rules.data?.length, emptyText: 'No rules yet: grants alone decide (and the Purdue defaults, when enabled).' }}
          >
            {(rules.data ?? []).map((r) => (
              <Table.Tr key={r.id} data-testid="rule-row" data-rule-name={r.name} style={{ opacity: r.enabled ? 1 : 0.55 }}>
                <Table.Td>{r.priority}</Table.Td>
                <Table.Td>
                  <Stack gap={2}>
                    <Text size="sm" fw={500}>
                      {r.name}{' '}
                      <Badge size="xs" variant="light" color={r.effect === 'deny' ? 'red' : 'teal'} tt="none">
                        {r.effect === 'deny' ? 'deny' : 'allow with conditions'}
                      </Badge>{' '}
                      {!r.enabled && (
                        <Badge size="xs" variant="outline" color="gray" tt="none">
                          disabled
                        </Badge>
                      )}
                    </Text>
                    {r.description && (
                      <Text size="xs" c="dimmed" lineClamp={2}>
                        {r.description}
                      </Text>
                    )}
                  </Stack>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{who(r)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{targets(r)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{conditions(r)}</Text>
                </Table.Td>
                <RowActions>
                  {admin && <EditAction label={`Edit ${r.name}`} onClick={() => setForm({ rule: r })} testId="rule-edit" />}
                  {admin && <DeleteAction label={`Delete ${r.name}`} onClick={() => del.ask(r)} testId="rule-delete" />}
                </RowActions>
              </Table.Tr>
            ))}
          </DataTable>
        </Tabs.Panel>
        <Tabs.Panel value="defaults">
          <DefaultsPanel />
        </Tabs.Panel>
        <Tabs.Panel value="what-if">
          <WhatIfPanel />
        </Tabs.Panel>
      </Tabs>

      <RuleFormModal opened={form !== null} rule={form?.rule ?? null} onClose={() => setForm(null)} />
      <ConfirmModal {...del.modal} title="Delete rule" confirmLabel="Delete rule">
        <Text size="sm">
          Delete rule <b>{del.target?.name}</b>? Its conditions or prohibitions stop applying at once.
        </Text>
      </ConfirmModal>
    </>
  );
}
