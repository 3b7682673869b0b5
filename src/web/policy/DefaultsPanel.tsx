import { Alert, Button, Checkbox, Group, NumberInput, Select, Stack, Switch, Table, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import { useAll } from '../api/hooks';
import type { Group as UserGroup } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { ProblemAlert } from '../common/errors';
import { Section } from '../common/ui';
import { LEVEL_KEYS, LEVEL_LABEL, type LevelDefault, type LevelKey, saveDefaults, useDefaults, usePolicyMutation } from './api';

/** Purdue-level defaults: an implicit rule for every asset at its level (Administrators edit). */
export function DefaultsPanel() {
  const admin = useIsAdmin();
  const q = useDefaults();
  const groups = useAll<UserGroup>('groups');
  const save = usePolicyMutation(saveDefaults);
  const [enabled, setEnabled] = useState(false);
  const [levels, setLevels] = useState<Record<LevelKey, LevelDefault> | null>(null);

  useEffect(() => {
    if (!q.data) return;
    setEnabled(q.data.enabled);
    setLevels(q.data.levels);
  }, [q.data]);

  if (!levels) return <Section title="Defaults by Purdue level" description="Loading…" />;
  const set = (k: LevelKey, patch: Partial<LevelDefault>) => setLevels({ ...levels, [k]: { ...levels[k], ...patch } });
  const minutes = (v: number | string) => (v === '' || v === undefined ? null : Number(v));

  return (
    <Section
      title="Defaults by Purdue level"
      description="Applied to every asset at its level, together with the rules (the strictest wins). Recommended: levels 0-1 dual approval and a moderator, level 2 one approval, level 3 and above grant-based."
      testId="policy-defaults"
    >
      <Stack gap="sm">
        <Switch
          label="Enforce the Purdue-level defaults"
          description="Approvals are granted through access requests; while there is no approved request, assets that need approval cannot be reached."
          checked={enabled}
          disabled={!admin}
          onChange={(e) => setEnabled(e.currentTarget.checked)}
          data-testid="defaults-enabled"
        />
        {!enabled && (
          <Alert color="yellow" variant="light">
            The defaults are off: only grants and rules decide.
          </Alert>
        )}
        <Table withTableBorder striped data-testid="defaults-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Level</Table.Th>
              <Table.Th>Approvals</Table.Th>
              <Table.Th>Approver group</Table.Th>
              <Table.Th>Moderator</Table.Th>
              <Table.Th>Max. session (min)</Table.Th>
              <Table.Th>Idle timeout (min)</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {LEVEL_KEYS.map((k) => (
              <Table.Tr key={k} data-testid="defaults-level" data-level={k}>
                <Table.Td>{LEVEL_LABEL[k]}</Table.Td>
                <Table.Td>
                  <NumberInput size="xs" w={80} min={0} max={10} value={levels[k].approvals} disabled={!admin} onChange={(v) => set(k, { approvals: Number(v) || 0 })} aria-label={`Approvals for level ${k}`} />
                </Table.Td>
                <Table.Td>
                  <Select
                    size="xs"
                    w={180}
                    clearable
                    placeholder="Any administrator"
                    disabled={!admin || levels[k].approvals === 0}
                    data={(groups.data?.items ?? []).map((g) => ({ value: g.id, label: g.name }))}
                    value={levels[k].approverGroupId}
                    onChange={(v) => set(k, { approverGroupId: v })}
                    aria-label={`Approver group for level ${k}`}
                  />
                </Table.Td>
                <Table.Td>
                  <Checkbox checked={levels[k].watchRequired} disabled={!admin} onChange={(e) => set(k, { watchRequired: e.currentTarget.checked })} aria-label={`Moderator required at level ${k}`} />
                </Table.Td>
                <Table.Td>
                  <NumberInput size="xs" w={100} min={1} max={1440} placeholder="default" value={levels[k].maxSessionMinutes ?? ''} disabled={!admin} onChange={(v) => set(k, { maxSessionMinutes: minutes(v) })} aria-label={`Maximum session for level ${k}`} />
                </Table.Td>
                <Table.Td>
                  <NumberInput size="xs" w={100} min={1} max={1440} placeholder="default" value={levels[k].idleTimeoutMinutes ?? ''} disabled={!admin} onChange={(v) => set(k, { idleTimeoutMinutes: minutes(v) })} aria-label={`Idle timeout for level ${k}`} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <ProblemAlert error={save.error} title="Defaults not saved" />
        {admin && (
          <Group justify="flex-end">
            {save.isSuccess && (
              <Text size="sm" c="teal" role="status">
                Saved.
              </Text>
            )}
            <Button variant="default" onClick={() => q.data && setLevels(q.data.recommended)} data-testid="defaults-recommended">
              Recommended values
            </Button>
            <Button onClick={() => save.mutate({ enabled, levels })} loading={save.isPending} data-testid="defaults-save">
              Save defaults
            </Button>
          </Group>
        )}
      </Stack>
    </Section>
  );
}
