import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { audit } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import { invalid } from '../errors.js';
import { nowIso, toBool } from '../util.js';
import { postWebhook } from './http-post.js';
import { classifyMailError, createSmtpTransport, type MailTimeouts, sendMail } from './mailer.js';
import { signedHeaders } from './signing.js';
import { type SmtpConnection, smtpConnection } from './smtp-settings.js';
import { renderTestEmail } from './templates.js';
import { WEBHOOK_SECRET_PURPOSE, type WebhookEnvelope, webhookRow } from './webhooks.js';

export const smtpTestSchema = z.strictObject({
  to: z.email('must be an email address').max(254, 'must be at most 254 characters'),
});

export interface ProbeResult {
  ok: boolean;
  message: string;
}

const TEST_TIMEOUTS: MailTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 20_000 };

/**
 * "Send test email": sends one message now with the saved settings (not through the outbox) and
 * says what happened in clear words. Audited (recipient and outcome, never the password).
 */
export async function sendTestEmail(ctx: SecretCtx, to: string, opts: { consoleUrl?: string | undefined; timeouts?: MailTimeouts } = {}): Promise<ProbeResult> {
  let s: SmtpConnection | undefined;
  let result: ProbeResult;
  try {
    s = await smtpConnection(ctx.db, ctx.secrets);
  } catch {
    result = { ok: false, message: 'the stored SMTP password cannot be opened (was the master key replaced?): enter it again' };
  }
  if (s) {
    if (!s.host || !s.fromAddress) {
      throw invalid('save a host and a sender address first', [{ path: '/to', message: 'SMTP is not configured' }]);
    }
    const conn = s;
    const transport = createSmtpTransport(conn, opts.timeouts ?? TEST_TIMEOUTS);
    try {
      const m = renderTestEmail({ consoleUrl: opts.consoleUrl, sentBy: ctx.actor.name, at: nowIso() });
      const info = await sendMail(transport, conn, { to: [to], subject: m.subject, text: m.text, html: m.html, template: 'test' });
      const how = conn.security === 'tls' ? 'TLS' : conn.security === 'starttls' ? 'STARTTLS' : 'no encryption';
      result = info.rejected.length
        ? { ok: false, message: `the server refused the recipient ${info.rejected.join(', ')}` }
        : { ok: true, message: `sent to ${to} through ${conn.host}:${conn.port} (${how}${conn.username ? `, signed in as ${conn.username}` : ', no authentication'}); the server accepted it as ${info.messageId}` };
    } catch (err) {
      result = { ok: false, message: classifyMailError(err, conn).message };
    } finally {
      transport.close();
    }
    if (!conn.enabled && result.ok) result.message += '. Email notifications are still turned off: enable them to send notifications.';
  }
  const r = result!;
  await audit(ctx.db, ctx.actor, { action: 'notify.smtp_test', target: { type: 'settings', id: 'smtp', name: 'Email (SMTP)' }, result: r.ok ? 'success' : 'failure', details: { to, message: r.message } });
  return r;
}

/** "Send test event": one signed webhook.test delivery now (not through the outbox). Audited. */
export async function sendTestWebhook(ctx: SecretCtx, webhookId: string, opts: { version?: string; timeoutMs?: number } = {}): Promise<ProbeResult & { status: number | null }> {
  const hook = await webhookRow(ctx.db, webhookId);
  let out: ProbeResult & { status: number | null };
  let secret: string | undefined;
  try {
    secret = ctx.secrets.open(hook.secret_enc, WEBHOOK_SECRET_PURPOSE);
  } catch {
    out = { ok: false, status: null, message: 'the stored secret cannot be opened (was the master key replaced?): enter it again' };
  }
  if (secret !== undefined) {
    const id = randomUUID();
    const now = Date.now();
    const body = JSON.stringify({ id, event: 'webhook.test', occurredAt: new Date(now).toISOString(), data: { webhook: hook.name, by: ctx.actor.name } } satisfies WebhookEnvelope);
    const res = await postWebhook({
      url: hook.url,
      body,
      headers: { 'content-type': 'application/json', 'user-agent': `Portcullis-Webhook/${opts.version ?? '0'}`, ...signedHeaders(secret, Math.floor(now / 1000), body, id, 'webhook.test') },
      timeoutMs: opts.timeoutMs ?? 10_000,
      allowRestricted: toBool(hook.allow_restricted),
    });
    out = res.ok ? { ok: true, status: res.status, message: `the receiver answered HTTP ${res.status}` } : { ok: false, status: res.status, message: res.error ?? 'failed' };
  }
  const r = out!;
  await audit(ctx.db, ctx.actor, { action: 'webhook.test', target: { type: 'webhook', id: hook.id, name: hook.name }, result: r.ok ? 'success' : 'failure', details: { status: r.status, message: r.message } });
  return r;
}
