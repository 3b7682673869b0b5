import { z } from 'zod';
import { type Actor, audit, changes } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Executor } from '../db/index.js';
import { inTx } from '../db/tx.js';
import { DomainError, type FieldError, invalid, notFound } from '../errors.js';
import { assertInboundWebhook, webhookReplayGuard } from '../notify/inbound.js';
import { nowIso } from '../util.js';
import { zodIssues } from '../validation.js';
import { id } from '../validation.js';
import { type AccessRequest, ticketSchema } from './model.js';
import type { RequestWorkflow } from './workflow.js';

/** Purpose bound to the sealed ITSM webhook secret (crypto/secretbox). */
export const ITSM_SECRET_PURPOSE = 'requests.itsm';
/** Key of the document in the `settings` table. */
export const ITSM_SETTINGS_KEY = 'itsm';

/**
 * ITSM integration: an external ticket system tells Portcullis, with an HMAC-signed webhook, that
 * the ticket of a request was approved (one approval by the configured service user) or closed
 * (the request is revoked). The shared secret is sealed with the master key and write-only.
 */
export const itsmSettingsPutSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** The user the ITSM acts as: its approval counts like a person's (group membership applies). */
  serviceUserId: id.nullable().default(null),
  /** Write-only: absent keeps it, null removes it. */
  secret: z.string().min(16, 'must be at least 16 characters').max(256, 'must be at most 256 characters').nullable().optional(),
});

export interface ItsmSettings {
  enabled: boolean;
  serviceUserId: string | null;
  serviceUser: string | null;
  hasSecret: boolean;
  updatedAt: string | null;
}

interface Stored {
  enabled: boolean;
  serviceUserId: string | null;
  secretSealed: string | null;
}

async function readStored(ex: Executor): Promise<{ doc: Stored; updatedAt: string | null }> {
  const row = await ex.selectFrom('settings').select(['value', 'updated_at']).where('key', '=', ITSM_SETTINGS_KEY).executeTakeFirst();
  let raw: Partial<Stored> = {};
  try {
    raw = row ? (JSON.parse(row.value) as Partial<Stored>) : {};
  } catch {
    raw = {};
  }
  return {
    doc: { enabled: raw.enabled === true, serviceUserId: typeof raw.serviceUserId === 'string' ? raw.serviceUserId : null, secretSealed: typeof raw.secretSealed === 'string' ? raw.secretSealed : null },
    updatedAt: row?.updated_at ?? null,
  };
}

async function publicForm(ex: Executor, doc: Stored, updatedAt: string | null): Promise<ItsmSettings> {
  const u = doc.serviceUserId ? await ex.selectFrom('users').select('username').where('id', '=', doc.serviceUserId).executeTakeFirst() : undefined;
  return { enabled: doc.enabled, serviceUserId: doc.serviceUserId, serviceUser: u?.username ?? null, hasSecret: doc.secretSealed !== null, updatedAt };
}

export async function getItsmSettings(ex: Executor): Promise<ItsmSettings> {
  const { doc, updatedAt } = await readStored(ex);
  return publicForm(ex, doc, updatedAt);
}

export async function putItsmSettings(ctx: SecretCtx, input: z.output<typeof itsmSettingsPutSchema>): Promise<ItsmSettings> {
  return inTx(ctx.db, async (tx) => {
    const { doc: before } = await readStored(tx);
    const sealed = input.secret === undefined ? before.secretSealed : input.secret === null ? null : ctx.secrets.seal(input.secret, ITSM_SECRET_PURPOSE);
    const errors: FieldError[] = [];
    if (input.serviceUserId && !(await tx.selectFrom('users').select('id').where('id', '=', input.serviceUserId).executeTakeFirst())) throw notFound('user', input.serviceUserId);
    if (input.enabled && !sealed) errors.push({ path: '/secret', message: 'is required when the ITSM webhook is enabled' });
    if (input.enabled && !input.serviceUserId) errors.push({ path: '/serviceUserId', message: 'is required when the ITSM webhook is enabled (the user its approvals count for)' });
    if (errors.length) throw invalid(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
    const next: Stored = { enabled: input.enabled, serviceUserId: input.serviceUserId, secretSealed: sealed };
    const value = JSON.stringify(next);
    const now = nowIso();
    const exists = await tx.selectFrom('settings').select('key').where('key', '=', ITSM_SETTINGS_KEY).executeTakeFirst();
    if (exists) await tx.updateTable('settings').set({ value, updated_at: now, updated_by: ctx.actor.id }).where('key', '=', ITSM_SETTINGS_KEY).execute();
    else await tx.insertInto('settings').values({ key: ITSM_SETTINGS_KEY, value, updated_at: now, updated_by: ctx.actor.id }).execute();
    const credential = sealed === before.secretSealed ? undefined : sealed === null ? 'removed' : 'replaced';
    await audit(tx, ctx.actor, {
      action: 'settings.itsm_update',
      target: { type: 'settings', id: ITSM_SETTINGS_KEY, name: 'ITSM integration' },
      details: { changes: changes({ enabled: before.enabled, serviceUserId: before.serviceUserId }, { enabled: next.enabled, serviceUserId: next.serviceUserId }), ...(credential ? { itsmCredential: credential } : {}) },
    });
    return publicForm(tx, next, now);
  });
}

const webhookBody = z.strictObject({
  ticket: ticketSchema,
  state: z.enum(['approved', 'closed'], 'state must be approved or closed'),
  comment: z.string().trim().max(2000, 'must be at most 2000 characters').optional(),
});

export interface ItsmResult {
  ticket: string;
  state: 'approved' | 'closed';
  request: AccessRequest;
}

/**
 * Handles one inbound ITSM webhook, exactly as received (raw body). Checked in this order: the
 * integration is enabled; the HMAC signature over timestamp and raw body (401); the timestamp
 * window and the delivery id / signature never seen (409 replay); the body. The replay record,
 * the transition and its audit event commit together: a refused message leaves nothing behind.
 */
export async function handleItsmWebhook(wf: RequestWorkflow, secrets: SecretBox, rawBody: string, headers: Record<string, string | string[] | number | undefined>, ip: string | null): Promise<ItsmResult> {
  const out = await inTx(wf.db, async (tx) => {
    const { doc } = await readStored(tx);
    if (!doc.enabled || !doc.secretSealed || !doc.serviceUserId) throw new DomainError('unauthorized', 'the ITSM webhook is not enabled (System Management -> ITSM)');
    const secret = secrets.open(doc.secretSealed, ITSM_SECRET_PURPOSE);
    const { deliveryId } = await assertInboundWebhook(rawBody, headers, secret, wf.clock.now(), { replay: webhookReplayGuard(tx, 'itsm') });
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      throw invalid('the body is not valid JSON');
    }
    const r = webhookBody.safeParse(parsed);
    if (!r.success) {
      const errors = zodIssues(r.error);
      throw invalid(`invalid body: ${errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`, errors);
    }
    const { ticket, state, comment } = r.data;
    const user = await tx.selectFrom('users').select(['id', 'username', 'role', 'status']).where('id', '=', doc.serviceUserId).executeTakeFirst();
    if (!user || user.status !== 'active') throw new DomainError('conflict', 'the ITSM service user does not exist or is not active: an administrator must configure one');
    const req = await tx.selectFrom('access_requests').select('id').where('ticket', '=', ticket).where('state', 'in', ['pending', 'approved']).orderBy('created_at', 'desc').executeTakeFirst();
    if (!req) throw notFound('open access request with ticket', ticket);
    const who = { id: user.id, username: user.username, role: user.role };
    const actor: Actor = { id: user.id, name: `${user.username} (ITSM)`, ip };
    const text = comment ?? `ITSM ticket ${ticket} ${state} (delivery ${deliveryId})`;
    return state === 'approved' ? { ...(await wf.approveTx(tx, who, actor, req.id, text, 'itsm')), ticket, state } : { ...(await wf.revokeTx(tx, who, actor, req.id, text)), ticket, state };
  });
  await wf.afterCommit(out);
  return { ticket: out.ticket, state: out.state, request: out.value };
}
