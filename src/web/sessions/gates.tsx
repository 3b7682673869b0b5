import { Alert, Badge, Button, Card, Group, Modal, Stack, Table, Text, Textarea } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { Link } from 'react-router-dom';
import type { WaitingSession } from '../../server/broker/gates';
import { api } from '../api/client';
import type { BrokeredSession } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconAlert, IconEye } from '../common/icons';

/**
 * The dashboard's live gates (docs/sessions.md "Gates"): sessions waiting for a live approval or a
 * moderator, and break-glass sessions waiting for their review. Polled every few seconds: a user
 * is waiting on the other side.
 */
/** `paused`: a moderated session that lost its moderator (live, waiting for one to rejoin). */
type Waiting = WaitingSession & { approvedByMe: boolean; paused: boolean };

const KEY = ['sessions', 'gates'];

export function useWaitingSessions() {
  return useQuery({
    queryKey: [...KEY, 'waiting'],
    queryFn: ({ signal }) => api.get<{ items: Waiting[] }>('/sessions/waiting', undefined, signal),
    refetchInterval: 3000,
  });
}

function useGateMutation<V>(fn: (v: V) => Promise<unknown>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: ['sessions'] }) });
}

/** A dashboard panel's title with its count, and a table with these column headers. */
function PanelTable({ title, count, color, columns, children }: { title: string; count: number; color: string; columns: string[]; children: ReactNode }) {
  return (
    <>
      <Group gap="xs" mb="xs">
        <IconAlert size={18} />
        <Text fw={600}>{title}</Text>
        <Badge color={color}>{count}</Badge>
      </Group>
      <Table>
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c}>{c}</Table.Th>
            ))}
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>{children}</Table.Tbody>
      </Table>
    </>
  );
}

/**
 * A decision with a text (an approval's comment, a rejection's reason, a review's finding): the
 * summary, the text, the gateway's answer. Mounted per target (`key`), so it starts empty.
 */
function TextActionModal(props: {
  title: string;
  summary: ReactNode;
  label: string;
  description?: string;
  maxLength: number;
  field: string;
  color: string;
  submitLabel: string;
  errorTitle: string;
  testIds: { form: string; text: string; submit: string };
  action?: string;
  submit: (text: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const [text, setText] = useState('');
  const m = useGateMutation(props.submit);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate(text.trim(), { onSuccess: props.onClose });
  };
  return (
    <Modal opened onClose={props.onClose} title={<Text fw={600}>{props.title}</Text>} centered>
      <form onSubmit={submit} noValidate data-testid={props.testIds.form} data-action={props.action}>
        <Stack>
          {props.summary}
          <ProblemAlert error={m.error} title={props.errorTitle} />
          <Textarea
            label={props.label}
            description={props.description}
            autosize
            minRows={2}
            maxLength={props.maxLength}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            error={fieldErrors(m.error).get(props.field)}
            data-testid={props.testIds.text}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" color={props.color} loading={m.isPending} data-testid={props.testIds.submit}>
              {props.submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Approve or reject one waiting session, with a comment (approve) or the reason the user reads (reject). */
function DecideModal({ target, onClose }: { target: { w: Waiting; action: 'approve' | 'reject' }; onClose: () => void }) {
  const { w, action } = target;
  const reject = action === 'reject';
  return (
    <TextActionModal
      title={reject ? 'Reject session' : 'Approve session'}
      summary={
        <Text size="sm">
          <b>{w.username}</b> waits to connect to <b>{w.assetName}</b> ({w.protocol.toUpperCase()}:{w.port}) since {formatDateTime(w.since)}.
        </Text>
      }
      label={reject ? 'Reason (the user sees it)' : 'Comment (optional)'}
      maxLength={500}
      field={reject ? '/reason' : '/comment'}
      color={reject ? 'red' : 'teal'}
      submitLabel={reject ? 'Reject' : 'Approve'}
      errorTitle={reject ? 'Not rejected' : 'Not approved'}
      testIds={{ form: 'gate-decision-form', text: 'gate-decision-text', submit: 'gate-decision-submit' }}
      action={action}
      submit={(text) => (reject ? api.post(`/sessions/${w.sessionId}/reject`, { reason: text }) : api.post(`/sessions/${w.sessionId}/approve`, text ? { comment: text } : {}))}
      onClose={onClose}
    />
  );
}

/** Sessions waiting for me: approve / reject live, or join as moderator (opens the watch page). */
export function WaitingSessionsPanel() {
  const q = useWaitingSessions();
  const [target, setTarget] = useState<{ w: Waiting; action: 'approve' | 'reject' } | null>(null);
  const items = q.data?.items ?? [];
  // Only a session that still waits: once decided (the refetch after the decision can unmount the
  // modal before its onClose runs) or withdrawn, the next waiting session must not reopen it.
  const current = target && items.some((w) => w.sessionId === target.w.sessionId) ? target : null;
  if (!items.length) return null;
  return (
    <Card withBorder radius="md" padding="md" mt="lg" data-testid="waiting-sessions">
      <PanelTable title="Sessions waiting for you" count={items.length} color="orange" columns={['User', 'Asset', 'Waiting for', 'Since']}>
          {items.map((w) => (
            <Table.Tr key={w.sessionId} data-testid="waiting-session" data-session-id={w.sessionId} data-user={w.username}>
              <Table.Td>{w.username}</Table.Td>
              <Table.Td>
                {w.assetName} <Text span c="dimmed" size="xs">{w.protocol.toUpperCase()}:{w.port}</Text>
              </Table.Td>
              <Table.Td>
                {w.waitingFor === 'moderator'
                  ? w.paused
                    ? 'a moderator (paused: the moderator left)'
                    : 'a moderator'
                  : `approval ${w.approvals?.by.length ?? 0} of ${w.approvals?.needed ?? 1}${w.approvals?.group ? ` (${w.approvals.group.name})` : ''}`}
              </Table.Td>
              <Table.Td>{formatDateTime(w.since)}</Table.Td>
              <Table.Td>
                <Group gap={6} justify="flex-end" wrap="nowrap">
                  {w.waitingFor === 'moderator' ? (
                    <Button size="xs" leftSection={<IconEye size={14} />} component={Link} to={`/sessions/${w.sessionId}/watch`} target="_blank" data-testid="moderate-session">
                      {w.paused ? 'Rejoin as moderator' : 'Join as moderator'}
                    </Button>
                  ) : (
                    <>
                      <Button size="xs" color="teal" disabled={w.approvedByMe} onClick={() => setTarget({ w, action: 'approve' })} data-testid="approve-session">
                        {w.approvedByMe ? 'Approved' : 'Approve'}
                      </Button>
                      <Button size="xs" color="red" variant="light" onClick={() => setTarget({ w, action: 'reject' })} data-testid="reject-session">
                        Reject
                      </Button>
                    </>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
      </PanelTable>
      {current && <DecideModal key={`${current.w.sessionId}:${current.action}`} target={current} onClose={() => setTarget(null)} />}
    </Card>
  );
}

/** Break-glass sessions whose mandatory review is pending (Administrators sign them off). */
export function ReviewQueuePanel() {
  const q = useQuery({
    queryKey: [...KEY, 'reviews'],
    queryFn: ({ signal }) => api.get<{ items: BrokeredSession[] }>('/sessions', { breakGlass: 'pending', limit: 100 }, signal),
    // Break-glass is an emergency: a new one shows within seconds (the email goes out at once too),
    // and a listed session still live can end any moment, so its Sign off must not wait.
    refetchInterval: (query) => (query.state.data?.items.some((s) => s.state === 'active' || s.state === 'pending') ? 3000 : 5000),
  });
  const [target, setTarget] = useState<BrokeredSession | null>(null);
  const items = q.data?.items ?? [];
  if (!items.length) return null;
  const live = (s: BrokeredSession) => s.state === 'active' || s.state === 'pending';
  return (
    <Card withBorder radius="md" padding="md" mt="lg" data-testid="review-queue" style={{ borderColor: 'var(--mantine-color-red-5)' }}>
      <PanelTable title="Break-glass sessions to review" count={items.length} color="red" columns={['User', 'Asset', 'Reason given', 'Started']}>
          {items.map((s) => (
            <Table.Tr key={s.id} data-testid="review-item" data-session-id={s.id}>
              <Table.Td>{s.user.username}</Table.Td>
              <Table.Td>{s.asset.name}</Table.Td>
              <Table.Td style={{ maxWidth: 360, wordBreak: 'break-word' }}>{s.breakGlass?.reason}</Table.Td>
              <Table.Td>{formatDateTime(s.startedAt ?? s.createdAt)}</Table.Td>
              <Table.Td>
                <Group gap={6} justify="flex-end" wrap="nowrap">
                  {live(s) ? (
                    <Button size="xs" variant="light" component={Link} to={`/sessions/${s.id}/watch`} target="_blank">
                      Watch (live)
                    </Button>
                  ) : (
                    <>
                      {s.recorded && (
                        <Button size="xs" variant="light" component={Link} to={`/sessions/${s.id}/play`}>
                          Recording
                        </Button>
                      )}
                      <Button
                        size="xs"
                        color="red"
                        onClick={() => setTarget(s)}
                        data-testid="review-sign-off"
                      >
                        Sign off
                      </Button>
                    </>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
      </PanelTable>
      {target && (
        <TextActionModal
          key={target.id}
          title="Sign off break-glass review"
          summary={
            <Alert color="red" variant="light">
              {target.user.username} on {target.asset.name}: “{target.breakGlass?.reason}”
            </Alert>
          }
          label="Finding"
          description="What you checked (the recording, the change) and what you found; audited"
          maxLength={2000}
          field="/note"
          color="red"
          submitLabel="Sign off"
          errorTitle="Not signed off"
          testIds={{ form: 'review-form', text: 'review-note', submit: 'review-submit' }}
          submit={(note) => api.post(`/sessions/${target.id}/review`, { note })}
          onClose={() => setTarget(null)}
        />
      )}
    </Card>
  );
}
