import { Badge, Group, List, SimpleGrid, Stack, Text } from '@mantine/core';
import { type Constraints, type Evaluation, OUTCOME_COLOR, OUTCOME_LABEL } from './api';

const yesNo = (v: boolean) => (v ? 'allowed' : 'not allowed');

/** Constraints as a plant admin reads them. */
export function ConstraintsList({ c }: { c: Constraints }) {
  const rows: [string, string][] = [
    ['Approvals', c.approvals ? `${c.approvals.count}${c.approvals.count === 2 ? ' (dual authorization)' : ''}${c.approvals.group ? ` from ${c.approvals.group.name}` : ''}, never self-approval` : 'none'],
    ['Moderator', c.watchRequired ? 'must watch the session' : 'not required'],
    ['Live approval', c.sessionApproval ? `${c.sessionApproval.count} per session${c.sessionApproval.group ? ` from ${c.sessionApproval.group.name}` : ' from an administrator'}` : 'none'],
    ['Max. session', c.maxSessionMinutes ? `${c.maxSessionMinutes} min` : 'gateway default'],
    ['Idle timeout', c.idleTimeoutMinutes ? `${c.idleTimeoutMinutes} min` : 'gateway default'],
    ['Clipboard', `to asset ${yesNo(c.clipboard.toAsset)}, from asset ${yesNo(c.clipboard.fromAsset)}`],
    ['File transfer', `inbound ${yesNo(c.fileTransfer.inbound)}, outbound ${yesNo(c.fileTransfer.outbound)}`],
    ['Advance notice', c.advanceNoticeHours ? `${c.advanceNoticeHours} h before the start` : 'none'],
    ...(c.windowEndsAt ? [['Window closes', new Date(c.windowEndsAt).toLocaleString()] as [string, string]] : []),
  ];
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }} spacing={4} verticalSpacing={2} data-testid="decision-constraints">
      {rows.map(([k, v]) => (
        <Text key={k} size="sm">
          <Text span c="dimmed" size="sm">
            {k}:
          </Text>{' '}
          {v}
        </Text>
      ))}
    </SimpleGrid>
  );
}

/** A decision: outcome, every reason (each names its rule), the rules that matched, the constraints. */
export function DecisionView({ d }: { d: Evaluation }) {
  return (
    <Stack gap="sm" data-testid="decision" data-outcome={d.outcome}>
      <Group gap="xs">
        <Badge size="lg" color={OUTCOME_COLOR[d.outcome]} variant="filled" tt="none" data-testid="decision-outcome">
          {OUTCOME_LABEL[d.outcome]}
        </Badge>
        {d.prohibited && (
          <Badge color="red" variant="light" tt="none">
            Prohibited target
          </Badge>
        )}
        <Text size="sm" c="dimmed">
          {d.user.username} → {d.asset.name} ({d.protocol}:{d.port}), {new Date(d.at).toLocaleString()} ({d.timezone} site)
        </Text>
      </Group>
      <List size="sm" spacing={2} data-testid="decision-reasons">
        {d.reasons.map((r) => (
          <List.Item key={r}>{r}</List.Item>
        ))}
      </List>
      {d.rules.length > 0 && (
        <Text size="xs" c="dimmed">
          Matching rules: {d.rules.map((r) => `${r.name}${r.effect === 'deny' ? ' (deny)' : ''}`).join(', ')}
        </Text>
      )}
      <ConstraintsList c={d.constraints} />
    </Stack>
  );
}
