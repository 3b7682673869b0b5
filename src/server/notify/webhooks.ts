import { z } from 'zod';
import { audit, changes } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import type { WebhookDeliveriesTable, WebhooksTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { fromBool, newId, nowIso, parseJson, toBool } from '../util.js';
import { host, name } from '../validation.js';
import { restrictedHostReason } from './ssrf.js';

/** Purpose bound to sealed webhook secrets (crypto/secretbox). */
export const WEBHOOK_SECRET_PURPOSE = 'notify.webhook';

/**
 * Events announced to outbound webhooks. Add new ones here (a subscription's filter is checked
 * against this list). Filters are exact names, "<prefix>.*" or "*".
 */
export const WEBHOOK_EVENTS = [
  'request.created',
  'request.approved',
  'request.denied',
  'request.expired',
  'request.revoked',
  'request.cancelled',
  'request.extended',
  'request.window_started',
  'session.pending',
  'session.approved',
  'session.rejected',
  'session.started',
  'session.ended',
  'session.terminated',
  'break_glass.used',
  'webhook.test',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const PREFIXES = new Set(WEBHOOK_EVENTS.map((e) => e.split('.')[0]!));

const eventFilter = z
  .string()
  .trim()
  .refine((s) => s === '*' || (WEBHOOK_EVENTS as readonly string[]).includes(s) || (s.endsWith('.*') && PREFIXES.has(s.slice(0, -2))), {
    message: `must be "*", an event (${WEBHOOK_EVENTS.join(', ')}) or a prefix such as "request.*"`,
  });

function urlProblem(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (u.username || u.password) return 'must not contain a user name or password: the request is authenticated by its HMAC signature';
  if (u.hash) return 'must not contain a #fragment';
  if (u.port === '0') return 'must not use port 0';
  const h = u.hostname.replace(/^\[|\]$/g, '');
  if (!host.safeParse(h).success) return 'must name a host (DNS name or IP address)';
  return null;
}

const webhookUrl = z
  .string()
  .trim()
  .max(2048, 'must be at most 2048 characters')
  .superRefine((s, c) => {
    const p = urlProblem(s);
    if (p) c.addIssue({ code: 'custom', message: p });
  });
const secret = z.string().min(16, 'must be at least 16 characters (use a random value)').max(256, 'must be at most 256 characters');
const events = z.array(eventFilter).min(1, 'needs at least one event (or "*")').max(50);

export const webhookCreateSchema = z.strictObject({
  name,
  url: webhookUrl,
  events: events.default(['*']),
  /** Write-only: sealed at rest, never returned. The receiver verifies signatures with it. */
  secret,
  enabled: z.boolean().default(true),
  /** Lifts the SSRF guard (loopback, link-local, metadata addresses) for this webhook. */
  allowRestricted: z.boolean().default(false),
});
export const webhookUpdateSchema = z.strictObject({
  name: name.optional(),
  url: webhookUrl.optional(),
  events: events.optional(),
  secret: secret.optional(),
  enabled: z.boolean().optional(),
  allowRestricted: z.boolean().optional(),
});

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: string[];
  hasSecret: boolean;
  enabled: boolean;
  allowRestricted: boolean;
  lastDelivery: { at: string; state: 'delivered' | 'retrying' | 'failed'; error: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  event: string;
  state: WebhookDeliveriesTable['state'];
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

const toWebhook = (r: WebhooksTable): Webhook => ({
  id: r.id,
  name: r.name,
  url: r.url,
  events: parseJson<string[]>(r.events, ['*']),
  hasSecret: !!r.secret_enc,
  enabled: toBool(r.enabled),
  allowRestricted: toBool(r.allow_restricted),
  lastDelivery: r.last_delivery_at && r.last_delivery_state ? { at: r.last_delivery_at, state: r.last_delivery_state, error: r.last_delivery_error } : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: WebhookDeliveriesTable): WebhookDelivery => ({
  id: r.id,
  webhookId: r.webhook_id,
  event: r.event,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.state === 'queued' ? r.next_attempt_at : null,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

/** The audit form: no secret, only that one is stored. */
const auditForm = (w: Webhook) => ({ name: w.name, url: w.url, events: w.events, enabled: w.enabled, allowRestricted: w.allowRestricted });

function checkTarget(url: string, allowRestricted: boolean): void {
  if (allowRestricted) return;
  const reason = restrictedHostReason(new URL(url).hostname);
  if (reason) {
    throw invalid(`/url ${reason}: refused to protect the networks the gateway can reach (SSRF); an administrator can set allowRestricted for a receiver that really is there`, [{ path: '/url', message: reason }]);
  }
}

async function row(ex: Executor, id: string): Promise<WebhooksTable> {
  const r = await ex.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound('webhook', id);
  return r;
}

async function assertNameFree(ex: Executor, n: string, exceptId?: string) {
  const other = await ex.selectFrom('webhooks').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', n.toLowerCase())).executeTakeFirst();
  if (other && other.id !== exceptId) throw conflict(`a webhook named "${n}" already exists`);
}

export async function listWebhooks(db: Db): Promise<{ items: Webhook[]; nextCursor: null }> {
  const rows = await db.selectFrom('webhooks').selectAll().orderBy('name').orderBy('id').execute();
  return { items: rows.map(toWebhook), nextCursor: null };
}

export async function getWebhook(ex: Executor, id: string): Promise<Webhook> {
  return toWebhook(await row(ex, id));
}

export async function webhookRow(ex: Executor, id: string): Promise<WebhooksTable> {
  return row(ex, id);
}

export async function createWebhook(ctx: SecretCtx, input: z.output<typeof webhookCreateSchema>): Promise<Webhook> {
  checkTarget(input.url, input.allowRestricted);
  return inTx(ctx.db, async (tx) => {
    await assertNameFree(tx, input.name);
    const now = nowIso();
    const r: WebhooksTable = {
      id: newId(),
      name: input.name,
      url: input.url,
      events: JSON.stringify([...new Set(input.events)]),
      secret_enc: ctx.secrets.seal(input.secret, WEBHOOK_SECRET_PURPOSE),
      enabled: fromBool(input.enabled),
      allow_restricted: fromBool(input.allowRestricted),
      last_delivery_at: null,
      last_delivery_state: null,
      last_delivery_error: null,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('webhooks').values(r).execute();
    const w = toWebhook(r);
    await audit(tx, ctx.actor, { action: 'webhook.create', target: { type: 'webhook', id: r.id, name: r.name }, details: { webhook: auditForm(w) } });
    return w;
  });
}

export async function updateWebhook(ctx: SecretCtx, id: string, input: z.output<typeof webhookUpdateSchema>): Promise<Webhook> {
  return inTx(ctx.db, async (tx) => {
    const beforeRow = await row(tx, id);
    const before = toWebhook(beforeRow);
    if (input.name !== undefined) await assertNameFree(tx, input.name, id);
    const url = input.url ?? before.url;
    const allowRestricted = input.allowRestricted ?? before.allowRestricted;
    checkTarget(url, allowRestricted);
    await tx
      .updateTable('webhooks')
      .set({
        name: input.name ?? before.name,
        url,
        events: JSON.stringify(input.events ? [...new Set(input.events)] : before.events),
        secret_enc: input.secret !== undefined ? ctx.secrets.seal(input.secret, WEBHOOK_SECRET_PURPOSE) : beforeRow.secret_enc,
        enabled: fromBool(input.enabled ?? before.enabled),
        allow_restricted: fromBool(allowRestricted),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
    const after = await getWebhook(tx, id);
    const { secret: newSecret, ...rest } = input;
    await audit(tx, ctx.actor, {
      action: 'webhook.update',
      target: { type: 'webhook', id, name: after.name },
      details: { changes: changes(before as unknown as Record<string, unknown>, rest), ...(newSecret !== undefined ? { signingKey: 'replaced' } : {}) },
    });
    return after;
  });
}

export async function deleteWebhook(ctx: SecretCtx, id: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getWebhook(tx, id);
    await tx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    await tx.deleteFrom('webhooks').where('id', '=', id).execute();
    await audit(tx, ctx.actor, { action: 'webhook.delete', target: { type: 'webhook', id, name: before.name }, details: { webhook: auditForm(before) } });
  });
}

export async function listDeliveries(ex: Executor, webhookId: string, limit = 50): Promise<{ items: WebhookDelivery[]; nextCursor: null }> {
  await row(ex, webhookId);
  const rows = await ex.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return { items: rows.map(toDelivery), nextCursor: null };
}

/** True when a subscription's filters take this event. */
export function eventMatches(filters: string[], event: string): boolean {
  return filters.some((f) => f === '*' || f === event || (f.endsWith('.*') && event.startsWith(f.slice(0, -1))));
}

/** Largest JSON body a delivery carries. */
export const MAX_WEBHOOK_BODY = 256 * 1024;

/** The envelope every webhook body has (the id is the delivery id: signed, since it is in the body). */
export interface WebhookEnvelope<T = unknown> {
  id: string;
  event: string;
  occurredAt: string;
  data: T;
}

/**
 * Queues one delivery per enabled webhook whose filter takes the event. Inside the caller's
 * transaction when `ex` is one: the deliveries exist only if the change they announce commits.
 * Returns the number of deliveries queued.
 */
export async function enqueueWebhookEvent(ex: Executor, event: string, payload: unknown, nowMs: number): Promise<number> {
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) throw new Error(`unknown webhook event "${event}": add it to WEBHOOK_EVENTS`);
  const hooks = await ex.selectFrom('webhooks').select(['id', 'events']).where('enabled', '=', 1).execute();
  const targets = hooks.filter((h) => eventMatches(parseJson<string[]>(h.events, []), event));
  if (!targets.length) return 0;
  const at = new Date(nowMs).toISOString();
  const rows: WebhookDeliveriesTable[] = targets.map((h) => {
    const id = newId();
    const body = JSON.stringify({ id, event, occurredAt: at, data: payload ?? null } satisfies WebhookEnvelope);
    if (Buffer.byteLength(body) > MAX_WEBHOOK_BODY) throw new Error(`webhook payload for ${event} is larger than ${MAX_WEBHOOK_BODY} bytes`);
    return { id, webhook_id: h.id, event, body, state: 'queued', attempts: 0, next_attempt_at: at, lease_until: null, last_status: null, last_error: null, created_at: at, updated_at: at, delivered_at: null };
  });
  await ex.insertInto('webhook_deliveries').values(rows).execute();
  return rows.length;
}
