import { Alert, Badge, Button, Card, Group, Modal, Stack, Table, Text, Textarea } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
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

/** Approve or reject one waiting session, with a comment (approve) or the reason the user reads (reject). */
function DecideModal({ target, onClose }: { target: { w: Waiting; action: 'approve' | 'reject' } | null; onClose: () => void }) {
  const [text, setText] = useState('');
  const m = useGateMutation((v: { id: string; action: 'approve' | 'reject'; text: string }) =>
    v.action === 'approve' ? api.post(`/sessions/${v.id}/approve`, v.text ? { comment: v.text } : {}) : api.post(`/sessions/${v.id}/reject`, { reason: v.text }),
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset for every new target
  useEffect(() => {
    setText('');
    m.reset();
  }, [target?.w.sessionId, target?.action]);
  const reject = target?.action === 'reject';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (target) m.mutate({ id: target.w.sessionId, action: target.action, text: text.trim() }, { onSuccess: onClose });
  };
  return (
    <Modal opened={!!target} onClose={onClose} title={<Text fw={600}>{reject ? 'Reject session' : 'Approve session'}</Text>} centered>
      {target && (
        <form onSubmit={submit} noValidate data-testid="gate-decision-form" data-action={target.action}>
          <Stack>
            <Text size="sm">
              <b>{target.w.username}</b> waits to connect to <b>{target.w.assetName}</b> ({target.w.protocol.toUpperCase()}:{target.w.port}) since {formatDateTime(target.w.since)}.
            </Text>
            <ProblemAlert error={m.error} title={reject ? 'Not rejected' : 'Not approved'} />
            <Textarea
              label={reject ? 'Reason (the user sees it)' : 'Comment (optional)'}
              autosize
              minRows={2}
              maxLength={500}
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              error={fieldErrors(m.error).get('/reason')}
              data-testid="gate-decision-text"
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" color={reject ? 'red' : 'teal'} loading={m.isPending} data-testid="gate-decision-submit">
                {reject ? 'Reject' : 'Approve'}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
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
      <DecideModal target={current} onClose={() => setTarget(null)} />
    </Card>
  );
}

/** Break-glass sessions whose mandatory review is pending (Administrators sign them off). */
export function ReviewQueuePanel() {
  const q = useQuery({
    queryKey: [...KEY, 'reviews'],
    queryFn: ({ signal }) => api.get<{ items: BrokeredSession[] }>('/sessions', { breakGlass: 'pending', limit: 100 }, signal),
    // A listed session still live can end any moment: its Sign off must not wait half a minute.
    refetchInterval: (query) => (query.state.data?.items.some((s) => s.state === 'active' || s.state === 'pending') ? 3000 : 30_000),
  });
  const [target, setTarget] = useState<BrokeredSession | null>(null);
  const [note, setNote] = useState('');
  const m = useGateMutation((v: { id: string; note: string }) => api.post(`/sessions/${v.id}/review`, { note: v.note }));
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
                        onClick={() => {
                          setNote('');
                          m.reset();
                          setTarget(s);
                        }}
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
      <Modal opened={!!target} onClose={() => setTarget(null)} title={<Text fw={600}>Sign off break-glass review</Text>} centered>
        {target && (
          <form
            noValidate
            data-testid="review-form"
            onSubmit={(e) => {
              e.preventDefault();
              m.mutate({ id: target.id, note: note.trim() }, { onSuccess: () => setTarget(null) });
            }}
          >
            <Stack>
              <Alert color="red" variant="light">
                {target.user.username} on {target.asset.name}: “{target.breakGlass?.reason}”
              </Alert>
              <ProblemAlert error={m.error} title="Not signed off" />
              <Textarea
                label="Finding"
                description="What you checked (the recording, the change) and what you found; audited"
                autosize
                minRows={3}
                maxLength={2000}
                value={note}
                onChange={(e) => setNote(e.currentTarget.value)}
                error={fieldErrors(m.error).get('/note')}
                data-testid="review-note"
              />
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setTarget(null)}>
                  Cancel
                </Button>
                <Button type="submit" color="red" loading={m.isPending} data-testid="review-submit">
                  Sign off
                </Button>
              </Group>
            </Stack>
          </form>
        )}
      </Modal>
    </Card>
  );
}
