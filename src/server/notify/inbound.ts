import type { Executor } from '../db/index.js';
import { DomainError } from '../errors.js';
import { isUniqueViolation } from '../db/tx.js';
import { HEADER_DELIVERY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signaturesEqual, signPayload } from './signing.js';

/** Requests older (or further in the future) than this are refused: 5 minutes. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

export type InboundFailure = 'missing_headers' | 'bad_signature' | 'stale_timestamp' | 'replayed';

export type InboundResult =
  | { ok: true; deliveryId: string; timestamp: number }
  | { ok: false; reason: InboundFailure; message: string };

/** Remembers accepted delivery ids (and signatures) so a replay inside the window is refused. */
export interface ReplayGuard {
  /** Records the keys; false when any of them was seen before. */
  remember(keys: string[], nowMs: number): Promise<boolean>;
}

type Headers = Record<string, string | string[] | number | undefined>;

function header(h: Headers, name: string): string | undefined {
  const direct = h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
  const v = Array.isArray(direct) ? direct[0] : direct;
  return v === undefined ? undefined : String(v).trim();
}

/**
 * Checks an inbound webhook (e.g. an ITSM system telling Portcullis a ticket was approved):
 * the HMAC over `${timestamp}.${rawBody}` in constant time, the timestamp inside the replay
 * window, and the delivery id (and signature) never seen before. Pass the body exactly as
 * received (bytes or the undecoded string), not re-serialized JSON.
 *
 * The replay guard is stored in the database (webhookReplayGuard), shared by every node.
 */
export async function verifyInboundWebhook(
  rawBody: string | Buffer,
  headers: Headers,
  secret: string,
  now: number,
  opts: { replay: ReplayGuard; windowSeconds?: number },
): Promise<InboundResult> {
  const window = opts.windowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS;
  const ts = header(headers, HEADER_TIMESTAMP);
  const sig = header(headers, HEADER_SIGNATURE);
  const id = header(headers, HEADER_DELIVERY);
  if (!ts || !sig || !id) {
    return { ok: false, reason: 'missing_headers', message: 'missing X-Portcullis-Timestamp, X-Portcullis-Signature or X-Portcullis-Delivery header' };
  }
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'bad_signature', message: 'X-Portcullis-Timestamp must be a Unix time in seconds' };
  if (!/^[\x21-\x7e]{1,200}$/.test(id)) return { ok: false, reason: 'missing_headers', message: 'X-Portcullis-Delivery must be 1-200 visible ASCII characters' };
  const timestamp = Number(ts);
  // The signature first: an unsigned request learns nothing about the clock or the seen ids.
  if (!signaturesEqual(signPayload(secret, timestamp, rawBody), sig)) {
    return { ok: false, reason: 'bad_signature', message: 'the signature does not match the body (wrong secret, or the body was changed)' };
  }
  const age = Math.floor(now / 1000) - timestamp;
  if (Math.abs(age) > window) {
    return { ok: false, reason: 'stale_timestamp', message: `the timestamp is ${Math.abs(age)} s ${age > 0 ? 'old' : 'in the future'}; at most ${window} s are accepted (check the sender's clock)` };
  }
  // The signature covers timestamp and body, not the delivery id header: remembering both means a
  // replay with a different delivery id is caught too.
  const fresh = await opts.replay.remember([`id:${id}`, `sig:${sig.toLowerCase()}`], now);
  if (!fresh) return { ok: false, reason: 'replayed', message: `delivery ${id} was already received (replay refused)` };
  return { ok: true, deliveryId: id, timestamp };
}

/** verifyInboundWebhook that throws: 401 for a bad or stale signature, 409 for a replay. */
export async function assertInboundWebhook(...args: Parameters<typeof verifyInboundWebhook>): Promise<{ deliveryId: string; timestamp: number }> {
  const r = await verifyInboundWebhook(...args);
  if (r.ok) return { deliveryId: r.deliveryId, timestamp: r.timestamp };
  throw new DomainError(r.reason === 'replayed' ? 'conflict' : 'unauthorized', r.message);
}

/**
 * The replay guard in the database (table webhook_inbound_seen), per scope (e.g. "itsm").
 * Entries older than twice the window are pruned by the notifier's housekeeping.
 */
export function webhookReplayGuard(ex: Executor, scope: string): ReplayGuard {
  return {
    async remember(keys, nowMs) {
      const seenAt = new Date(nowMs).toISOString();
      const run = async (tx: Executor) => {
        const hit = await tx.selectFrom('webhook_inbound_seen').select('key').where('scope', '=', scope).where('key', 'in', keys).executeTakeFirst();
        if (hit) return false;
        await tx.insertInto('webhook_inbound_seen').values(keys.map((key) => ({ scope, key, seen_at: seenAt }))).execute();
        return true;
      };
      try {
        return ex.isTransaction ? await run(ex) : await ex.transaction().execute(run);
      } catch (err) {
        // Two nodes racing on the same delivery: the primary key lets one win.
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
  };
}

/** Removes remembered ids older than `olderThanMs` (twice the window is plenty). */
export async function pruneInboundSeen(ex: Executor, beforeIso: string): Promise<number> {
  const r = await ex.deleteFrom('webhook_inbound_seen').where('seen_at', '<', beforeIso).executeTakeFirst();
  return Number(r.numDeletedRows);
}
