import { Button, Group, Modal, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { type AccessRequest, approveRequest, cancelRequest, denyRequest, extendRequest, revokeRequest, useRequestMutation } from './api';
import { formatInZone, formatRange, toZonedInput, zonedToUtc } from './zone';

export type RequestAction = 'approve' | 'deny' | 'cancel' | 'revoke';

const ACTION: Record<RequestAction, { title: string; verb: string; color?: string; comment: string; reasonRequired: boolean; fn: (v: { id: string; comment: string }) => Promise<AccessRequest> }> = {
  approve: { title: 'Approve access request', verb: 'Approve', color: 'teal', comment: 'Comment (optional)', reasonRequired: false, fn: approveRequest },
  deny: { title: 'Deny access request', verb: 'Deny', color: 'red', comment: 'Reason', reasonRequired: true, fn: denyRequest },
  cancel: { title: 'Cancel access request', verb: 'Cancel request', color: 'red', comment: 'Comment (optional)', reasonRequired: false, fn: cancelRequest },
  revoke: { title: 'Revoke access request', verb: 'Revoke', color: 'red', comment: 'Reason', reasonRequired: true, fn: revokeRequest },
};

function Summary({ r }: { r: AccessRequest }) {
  const approved = r.approvals.filter((a) => a.decision === 'approve').length;
  return (
    <Stack gap={2} data-testid="decision-summary">
      <Text size="sm">
        <b>{r.requester.username}</b> asks for <b>{r.assets.map((a) => a.name).join(', ')}</b> ({r.protocols.join(', ').toUpperCase()})
      </Text>
      <Text size="sm">Purpose: {r.purpose}</Text>
      {r.ticket && <Text size="sm">Ticket: {r.ticket}</Text>}
      <Text size="sm">
        Window: {r.recurrence ? `weekly, ${formatRange(r.start, r.end, r.timeZone)}` : formatRange(r.start, r.end, r.timeZone)} ({r.timeZone})
      </Text>
      {r.extension && <Text size="sm">Extension asked: until {formatInZone(r.extension.end, r.timeZone)}</Text>}
      <Text size="sm">
        Approvals so far: {approved} of {r.approvalsRequired}
        {r.approverGroup ? ` (group ${r.approverGroup.name})` : ''}
      </Text>
    </Stack>
  );
}

/**
 * Approve, deny, cancel or revoke with a comment. Nothing is refused here: the gateway decides
 * (a deny or revoke without a reason, self-approval, a request already decided) and its answer is shown.
 */
export function DecisionModal({ request, action, onClose }: { request: AccessRequest | null; action: RequestAction; onClose: () => void }) {
  const a = ACTION[action];
  const [comment, setComment] = useState('');
  const m = useRequestMutation(a.fn);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever another request opens
  useEffect(() => {
    setComment('');
    m.reset();
  }, [request?.id, action]);
  const errs = fieldErrors(m.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (request) m.mutate({ id: request.id, comment }, { onSuccess: onClose });
  };
  return (
    <Modal opened={!!request} onClose={onClose} title={<Text fw={600}>{a.title}</Text>} size="lg" centered>
      {request && (
        <form onSubmit={submit} noValidate data-testid="decision-form" data-action={action}>
          <Stack>
            {(action === 'approve' || action === 'deny') && <Summary r={request} />}
            <ProblemAlert error={m.error} inlinePaths={['/comment']} title={`Not ${action === 'deny' ? 'denied' : action === 'approve' ? 'approved' : action === 'cancel' ? 'cancelled' : 'revoked'}`} />
            <Textarea
              label={a.comment}
              description={a.reasonRequired ? 'Required; the requester sees it' : 'The requester sees it'}
              withAsterisk={a.reasonRequired}
              autosize
              minRows={2}
              maxRows={6}
              data-autofocus
              value={comment}
              onChange={(e) => setComment(e.currentTarget.value)}
              error={errs.get('/comment')}
              data-testid="decision-comment"
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Close
              </Button>
              <Button type="submit" color={a.color} loading={m.isPending} data-testid="decision-submit">
                {a.verb}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}

/** Ask for a longer window: a new end (one-off) or a new last day (recurring); a new approval round. */
export function ExtendModal({ request, onClose }: { request: AccessRequest | null; onClose: () => void }) {
  const [end, setEnd] = useState('');
  const [until, setUntil] = useState('');
  const [comment, setComment] = useState('');
  const m = useRequestMutation(extendRequest);
  const tz = request?.timeZone ?? 'UTC';
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever another request opens
  useEffect(() => {
    m.reset();
    setComment('');
    if (!request) return;
    const later = new Date(Date.parse(request.end) + 60 * 60_000);
    setEnd(toZonedInput(later, request.timeZone));
    setUntil(toZonedInput(new Date(Date.parse(request.end) + 7 * 86_400_000 - 1), request.timeZone).slice(0, 10));
  }, [request?.id]);
  const errs = fieldErrors(m.error);
  const recurring = !!request?.recurrence;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!request) return;
    const endAt = recurring ? undefined : zonedToUtc(end, tz)?.toISOString();
    m.mutate({ id: request.id, ...(recurring ? { until } : { end: endAt ?? end }), comment }, { onSuccess: onClose });
  };
  return (
    <Modal opened={!!request} onClose={onClose} title={<Text fw={600}>Extend access request</Text>} centered>
      {request && (
        <form onSubmit={submit} noValidate data-testid="extend-form">
          <Stack>
            <Text size="sm">
              {request.assets.map((a) => a.name).join(', ')}: now until {formatInZone(request.end, tz)} ({tz}). The longer window needs a new approval; the current end holds until then.
            </Text>
            <ProblemAlert error={m.error} inlinePaths={['/end', '/until', '/comment']} title="Not extended" />
            {recurring ? (
              <TextInput type="date" label="New last day" description={`Weekly windows continue until this day (${tz})`} value={until} onChange={(e) => setUntil(e.currentTarget.value)} error={errs.get('/until')} data-testid="extend-until" />
            ) : (
              <TextInput type="datetime-local" label={`New end (${tz})`} value={end} onChange={(e) => setEnd(e.currentTarget.value)} error={errs.get('/end')} data-testid="extend-end" />
            )}
            <Textarea label="Comment (optional)" autosize minRows={2} value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={errs.get('/comment')} data-testid="extend-comment" />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Close
              </Button>
              <Button type="submit" loading={m.isPending} data-testid="extend-submit">
                Ask for the extension
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
