import { z } from 'zod';
import type { Selectable } from 'kysely';
import type { AccessRequestApprovalsTable, AccessRequestsTable } from '../db/schema.js';
import { type LoginWindow, PROTOCOLS, type Protocol } from '../inventory/assets.js';
import { windowsSchema } from '../policy/rules.js';
import { parseJson } from '../util.js';
import { id, isoDate, pageQuery, timezone } from '../validation.js';
import { occurrences, type Window } from './windows.js';

/** Longest one-off window (and one-off extension): 7 days. */
export const MAX_ONE_OFF_MINUTES = 7 * 24 * 60;
/** Longest recurring series, and how far ahead a request may start: a year (and a day). */
export const MAX_SERIES_DAYS = 366;
/** Live sessions and the requester are warned this long before a window ends. */
export const WARN_BEFORE_MS = 5 * 60_000;

export const REQUEST_STATES = ['pending', 'approved', 'denied', 'expired', 'revoked', 'cancelled'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

const NO_CONTROL = /^[^\u0000-\u0008\u000b-\u001f\u007f]*$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An instant with its offset (2026-03-10T14:00:00Z or ...+01:00); normalized to UTC ISO. */
export const instant = z
  .string()
  .refine((s) => ISO_INSTANT.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 timestamp with a time zone offset, e.g. 2026-03-10T14:00:00Z')
  .transform((s) => new Date(s).toISOString());

const protocols = z
  .array(z.enum(PROTOCOLS, `unknown protocol: use one of ${PROTOCOLS.join(', ')}`))
  .min(1, 'name at least one access method (ssh, telnet, vnc, rdp, tcp)')
  .max(PROTOCOLS.length)
  .transform((xs) => [...new Set(xs)]);

export const ticketSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/#-]*$/, 'ticket references are letters, digits and . _ : / # - (e.g. CHG-1042)');

const purpose = z.string().trim().min(1, 'say what the access is for').max(2000, 'must be at most 2000 characters').regex(NO_CONTROL, 'must not contain control characters');
const comment = z.string().trim().max(2000, 'must be at most 2000 characters').regex(NO_CONTROL, 'must not contain control characters');
const reason = comment.min(1, 'give a reason');
const duration = z
  .number('must be a number of minutes')
  .int('must be whole minutes')
  .min(1, 'must be at least 1 minute')
  .max(MAX_ONE_OFF_MINUTES, `must be at most ${MAX_ONE_OFF_MINUTES} minutes (7 days): use a recurring window for standing contracts`);

export const requestCreateSchema = z
  .strictObject({
    /** Request on behalf of this user (Administrators only, e.g. for a vendor). */
    userId: id.optional(),
    assets: z
      .array(id)
      .min(1, 'name at least one asset')
      .max(20, 'at most 20 assets per request')
      .transform((xs) => [...new Set(xs)]),
    protocols,
    purpose,
    ticket: ticketSchema.nullable().optional(),
    /** One-off: when the window opens. Recurring: from when the series runs. */
    start: instant,
    /** One-off window length. */
    durationMinutes: duration.optional(),
    /** Recurring maintenance windows (weekly, in timeZone) until a date (inclusive). */
    recurrence: z.strictObject({ windows: windowsSchema, until: isoDate }).optional(),
    /** IANA zone of the recurring windows and of the emails; default: the first asset's site. */
    timeZone: timezone.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.durationMinutes === undefined && !b.recurrence) ctx.addIssue({ code: 'custom', path: ['durationMinutes'], message: 'give durationMinutes (one window) or recurrence (weekly windows)' });
    if (b.durationMinutes !== undefined && b.recurrence) ctx.addIssue({ code: 'custom', path: ['recurrence'], message: 'give either durationMinutes or recurrence, not both' });
  });
export type RequestCreate = z.output<typeof requestCreateSchema>;

export const approveSchema = z.strictObject({ comment: comment.optional() });
export const denySchema = z.strictObject({ comment: reason });
export const cancelSchema = z.strictObject({ comment: comment.optional() });
export const revokeSchema = z.strictObject({ comment: reason });
export const extendSchema = z
  .strictObject({
    /** One-off: the new end of the window. */
    end: instant.optional(),
    /** Recurring: the new last day of the series. */
    until: isoDate.optional(),
    comment: comment.optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.end === undefined) === (b.until === undefined)) ctx.addIssue({ code: 'custom', path: ['end'], message: 'give end (one-off window) or until (recurring windows)' });
  });

export const requestFilterSchema = z.strictObject({
  state: z.enum(REQUEST_STATES).optional(),
  userId: id.optional(),
  assetId: id.optional(),
  siteId: id.optional(),
  ticket: z.string().max(100).optional(),
  /** Windows that end after this instant / start before that one. */
  from: instant.optional(),
  to: instant.optional(),
  ...pageQuery,
});
export type RequestFilter = z.output<typeof requestFilterSchema>;

export type RequestRow = Selectable<AccessRequestsTable>;

export interface AccessRequest {
  id: string;
  state: RequestState;
  requester: { id: string; username: string };
  createdBy: { id: string | null; username: string };
  purpose: string;
  ticket: string | null;
  assets: { id: string; name: string; siteId: string }[];
  protocols: Protocol[];
  /** One-off: the window. Recurring: the series [first window start, end of the last day). */
  start: string;
  end: string;
  recurrence: { windows: LoginWindow[] } | null;
  timeZone: string;
  approvalsRequired: number;
  approverGroup: { id: string; name: string } | null;
  /** Approvals and denials of the current round. */
  approvals: { round: number; approverId: string; approver: string; decision: 'approve' | 'deny'; comment: string | null; via: string; at: string }[];
  round: number;
  /** A pending extension (new end of the window or series). */
  extension: { end: string } | null;
  /** The window open now, else the next one (null: none left). */
  window: { start: string; end: string; open: boolean } | null;
  decidedAt: string | null;
  decidedBy: string | null;
  comment: string | null;
  createdAt: string;
  updatedAt: string;
}

export const recurrenceOf = (r: Pick<RequestRow, 'recurrence'>): LoginWindow[] | null => (r.recurrence ? parseJson<LoginWindow[] | null>(r.recurrence, null) : null);
export const protocolsOf = (r: Pick<RequestRow, 'protocols'>): Protocol[] => parseJson<Protocol[]>(r.protocols, []);

/** The windows of a request (one-off: itself) overlapping [from, to). */
export function requestWindows(r: Pick<RequestRow, 'recurrence' | 'start_at' | 'end_at' | 'time_zone'>, from: Date, to: Date, endAt = r.end_at): Window[] {
  const start = new Date(r.start_at);
  const end = new Date(endAt);
  const rec = recurrenceOf(r);
  if (!rec) return end > from && start < to ? [{ start, end }] : [];
  return occurrences(rec, r.time_zone, start, end, from, to);
}

/** The window containing `at`, or undefined. */
export function windowAt(r: Pick<RequestRow, 'recurrence' | 'start_at' | 'end_at' | 'time_zone'>, at: Date): Window | undefined {
  return requestWindows(r, at, new Date(at.getTime() + 1)).find((w) => w.start <= at && at < w.end);
}

/** The window open at `at`, else the next one. */
export function currentOrNextWindow(r: Pick<RequestRow, 'recurrence' | 'start_at' | 'end_at' | 'time_zone'>, at: Date): Window | undefined {
  // Weekly windows: the next one is at most a week away.
  const horizon = r.recurrence ? Math.min(Date.parse(r.end_at), at.getTime() + 8 * 86_400_000) : Date.parse(r.end_at);
  return requestWindows(r, at, new Date(horizon))[0];
}

export type ApprovalRow = Selectable<AccessRequestApprovalsTable>;
