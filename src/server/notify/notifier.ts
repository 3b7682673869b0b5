import { audit, SYSTEM_ACTOR } from '../audit/log.js';
import { type Clock, realClock } from '../broker/clock.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Db, Executor } from '../db/index.js';
import type { EmailOutboxTable, WebhookDeliveriesTable } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { newId, parseJson, toBool } from '../util.js';
import { postWebhook } from './http-post.js';
import { pruneInboundSeen } from './inbound.js';
import { classifyMailError, createSmtpTransport, DEFAULT_MAIL_TIMEOUTS, type MailTimeouts, sendMail } from './mailer.js';
import { signedHeaders } from './signing.js';
import { getSmtpSettings, type SmtpConnection, smtpConnection, smtpUsable } from './smtp-settings.js';
import { type EmailTemplate, type EmailTemplates, renderEmail } from './templates.js';
import { enqueueWebhookEvent, WEBHOOK_SECRET_PURPOSE, type WebhookEvent } from './webhooks.js';

/** Retries: the n-th failure waits min(base * 2^(n-1), max); after maxAttempts the item fails. */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const EMAIL_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 30_000, maxDelayMs: 3_600_000 };
export const WEBHOOK_RETRY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 10_000, maxDelayMs: 3_600_000 };

/** Delay before the next attempt after `attempts` failed ones (exponential, capped). */
export function backoffMs(policy: RetryPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
}

export interface NotifierOptions {
  db: Db;
  secrets: SecretBox;
  logger: Logger;
  /** config.publicUrl: links in emails point there (none when unset). */
  consoleUrl?: string | undefined;
  clock?: Clock;
  email?: Partial<RetryPolicy>;
  webhook?: Partial<RetryPolicy>;
  /** How often the sender looks for due work (it is also woken on every enqueue). */
  pollMs?: number;
  mailTimeouts?: MailTimeouts;
  webhookTimeoutMs?: number;
  /** Sent as User-Agent: Portcullis-Webhook/<version>. */
  version?: string;
}

export interface EnqueueOptions {
  /** Queue inside this transaction: the message exists only if the caller's change commits. */
  ex?: Executor;
}

export interface RunReport {
  emailsSent: number;
  emailsFailed: number;
  emailsRetrying: number;
  webhooksDelivered: number;
  webhooksFailed: number;
  webhooksRetrying: number;
}

const EMAIL_LEASE_MS = 5 * 60_000;
const WEBHOOK_LEASE_MS = 2 * 60_000;
const PRUNE_EVERY_MS = 3_600_000;
const DAY = 86_400_000;
const MAX_RECIPIENTS = 100;
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/**
 * Notifications: `email()` and `emit()` only write rows (durable outbox, never blocking a
 * request); the background sender started with the gateway delivers them with retries and
 * exponential backoff, and audits what it gives up on (notify.email_failed,
 * notify.webhook_failed). Several nodes may share one database: rows are claimed with a lease.
 */
export class Notifier {
  private readonly db: Db;
  private readonly secrets: SecretBox;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly consoleUrl: string | undefined;
  private readonly emailRetry: RetryPolicy;
  private readonly webhookRetry: RetryPolicy;
  private readonly pollMs: number;
  private readonly mailTimeouts: MailTimeouts;
  private readonly webhookTimeoutMs: number;
  private readonly userAgent: string;
  private cancelTimer: (() => void) | null = null;
  private running: Promise<RunReport> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private lastPrune = 0;
  private abort = new AbortController();
  /** Rejects when stop() is called (races in-flight sends). */
  private readonly stopping = new Promise<never>((_, reject) => {
    this.abort.signal.addEventListener('abort', () => reject(new Error('the gateway is stopping')), { once: true });
  });

  constructor(o: NotifierOptions) {
    this.db = o.db;
    this.secrets = o.secrets;
    this.logger = o.logger;
    this.clock = o.clock ?? realClock;
    this.consoleUrl = o.consoleUrl;
    this.emailRetry = { ...EMAIL_RETRY, ...o.email };
    this.webhookRetry = { ...WEBHOOK_RETRY, ...o.webhook };
    this.pollMs = o.pollMs ?? 5000;
    this.mailTimeouts = o.mailTimeouts ?? DEFAULT_MAIL_TIMEOUTS;
    this.webhookTimeoutMs = o.webhookTimeoutMs ?? 10_000;
    this.userAgent = `Portcullis-Webhook/${o.version ?? '0'}`;
    this.stopping.catch(() => undefined);
  }

  // ---- the interface other domains call -------------------------------------------------------

  /**
   * Queues one email rendered from a template to the given addresses (invalid or duplicate ones
   * are dropped). Returns the outbox id, or null when nothing was queued: email is turned off in
   * System Management, or no recipient has an address.
   */
  async email<K extends EmailTemplate>(template: K, to: readonly string[], data: EmailTemplates[K], opts: EnqueueOptions = {}): Promise<string | null> {
    const ex = opts.ex ?? this.db;
    const settings = await getSmtpSettings(ex);
    const recipients = [...new Set(to.map((a) => a.trim().toLowerCase()).filter((a) => a.length <= 254 && EMAIL_RE.test(a)))];
    if (!smtpUsable(settings)) {
      this.logger.info({ template }, 'email notification not queued: email (SMTP) is not enabled');
      return null;
    }
    if (!recipients.length) {
      this.logger.info({ template }, 'email notification not queued: no recipient has an email address');
      return null;
    }
    const r = renderEmail(template, data, { consoleUrl: this.consoleUrl });
    const now = new Date(this.clock.now()).toISOString();
    const ids: string[] = [];
    // Large audiences are split into messages of at most 100 recipients.
    for (let i = 0; i < recipients.length; i += MAX_RECIPIENTS) {
      const id = newId();
      ids.push(id);
      await ex
        .insertInto('email_outbox')
        .values({ id, template, recipients: JSON.stringify(recipients.slice(i, i + MAX_RECIPIENTS)), subject: r.subject, text_body: r.text, html_body: r.html, state: 'queued', attempts: 0, next_attempt_at: now, lease_until: null, last_error: null, created_at: now, updated_at: now, sent_at: null })
        .execute();
    }
    this.kick();
    return ids[0]!;
  }

  /**
   * Announces an event to every enabled webhook subscribed to it (one signed delivery each).
   * Returns how many deliveries were queued.
   */
  async emit(event: WebhookEvent, payload: unknown, opts: EnqueueOptions = {}): Promise<number> {
    const n = await enqueueWebhookEvent(opts.ex ?? this.db, event, payload, this.clock.now());
    if (n) this.kick();
    return n;
  }

  /** The same as emit(), shaped as `notify.webhooks.emit(event, payload)`. */
  readonly webhooks = { emit: (event: WebhookEvent, payload: unknown, opts: EnqueueOptions = {}) => this.emit(event, payload, opts) };

  // ---- the background sender ------------------------------------------------------------------

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops the sender: no new work; in-flight sends are aborted and retried later. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Resolves when the current run (if any) is over. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  private kick(): void {
    if (this.started && !this.stopped) this.schedule(10);
  }

  private schedule(ms: number): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(ms, () => {
      this.cancelTimer = null;
      this.runDue()
        .catch((err) => this.logger.error({ err: { message: (err as Error).message } }, 'notification sender run failed'))
        .finally(() => {
          if (!this.stopped && !this.cancelTimer) this.schedule(this.pollMs);
        });
    });
  }

  /** Sends everything due now (one run at a time; a call during a run waits for a second pass). */
  runDue(): Promise<RunReport> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      const report: RunReport = { emailsSent: 0, emailsFailed: 0, emailsRetrying: 0, webhooksDelivered: 0, webhooksFailed: 0, webhooksRetrying: 0 };
      do {
        this.again = false;
        await this.processEmails(report);
        await this.processWebhooks(report);
      } while (this.again && !this.stopped);
      await this.prune();
      return report;
    })();
    this.running = run;
    run.finally(() => {
      if (this.running === run) this.running = null;
    }).catch(() => undefined);
    return run;
  }

  private iso(ms = this.clock.now()): string {
    return new Date(ms).toISOString();
  }

  private async processEmails(report: RunReport): Promise<void> {
    const now = this.iso();
    const due = await this.db
      .selectFrom('email_outbox')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('state', '=', 'queued'), eb('next_attempt_at', '<=', now)]), eb.and([eb('state', '=', 'sending'), eb('lease_until', '<', now)])]))
      .orderBy('next_attempt_at')
      .limit(50)
      .execute();
    if (!due.length) return;
    let settings: SmtpConnection | null = null;
    let unusable: string | null = null;
    try {
      settings = await smtpConnection(this.db, this.secrets);
      if (!smtpUsable(settings)) unusable = 'email (SMTP) is not enabled or not configured in System Management';
    } catch {
      unusable = 'the stored SMTP password cannot be opened (was the master key replaced?): enter it again';
    }
    const transport = settings && !unusable ? createSmtpTransport(settings, this.mailTimeouts) : null;
    try {
      for (const { id } of due) {
        if (this.stopped) break;
        const row = await this.claim('email_outbox', id, EMAIL_LEASE_MS);
        if (!row) continue;
        const r = row as EmailOutboxTable;
        if (!transport || !settings) {
          await this.emailFailed(r, unusable ?? 'email is not configured', false, report);
          continue;
        }
        try {
          const sending = sendMail(transport, settings, { to: parseJson<string[]>(r.recipients, []), subject: r.subject, text: r.text_body, html: r.html_body, template: r.template });
          sending.catch(() => undefined);
          // Stopping does not wait for a slow mail server: the message goes back to the queue.
          const sent = await Promise.race([sending, this.stopping]);
          const at = this.iso();
          await this.db.updateTable('email_outbox').set({ state: 'sent', sent_at: at, updated_at: at, lease_until: null, last_error: sent.rejected.length ? `refused recipients: ${sent.rejected.join(', ')}` : null }).where('id', '=', r.id).execute();
          report.emailsSent++;
          this.logger.info({ outboxId: r.id, template: r.template, recipients: parseJson<string[]>(r.recipients, []).length, attempts: r.attempts }, 'email sent');
        } catch (err) {
          if (this.stopped) {
            await this.release('email_outbox', r.id);
            break;
          }
          const f = classifyMailError(err, settings);
          await this.emailFailed(r, f.message, f.permanent, report);
        }
      }
    } finally {
      transport?.close();
    }
  }

  private async emailFailed(r: EmailOutboxTable, message: string, permanent: boolean, report: RunReport): Promise<void> {
    const at = this.iso();
    const giveUp = permanent || r.attempts >= this.emailRetry.maxAttempts;
    if (!giveUp) {
      const next = this.iso(this.clock.now() + backoffMs(this.emailRetry, r.attempts));
      await this.db.updateTable('email_outbox').set({ state: 'queued', next_attempt_at: next, lease_until: null, last_error: message, updated_at: at }).where('id', '=', r.id).execute();
      report.emailsRetrying++;
      this.logger.warn({ outboxId: r.id, template: r.template, attempts: r.attempts, nextAttemptAt: next, error: message }, 'email not sent, will retry');
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('email_outbox').set({ state: 'failed', lease_until: null, last_error: message, updated_at: at }).where('id', '=', r.id).execute();
      await audit(tx, SYSTEM_ACTOR, {
        action: 'notify.email_failed',
        target: { type: 'email', id: r.id, name: r.template },
        result: 'failure',
        details: { template: r.template, subject: r.subject, recipients: parseJson<string[]>(r.recipients, []), attempts: r.attempts, error: message },
      });
    });
    report.emailsFailed++;
    this.logger.error({ outboxId: r.id, template: r.template, attempts: r.attempts, error: message }, 'email given up');
  }

  private async processWebhooks(report: RunReport): Promise<void> {
    const now = this.iso();
    const due = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('state', '=', 'queued'), eb('next_attempt_at', '<=', now)]), eb.and([eb('state', '=', 'sending'), eb('lease_until', '<', now)])]))
      .orderBy('next_attempt_at')
      .limit(50)
      .execute();
    // Up to 4 receivers at once: one slow receiver does not hold up the others for long.
    const queue = due.map((d) => d.id);
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !this.stopped; id = queue.shift()) await this.deliver(id, report);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  private async deliver(id: string, report: RunReport): Promise<void> {
    const row = (await this.claim('webhook_deliveries', id, WEBHOOK_LEASE_MS)) as WebhookDeliveriesTable | undefined;
    if (!row) return;
    const hook = await this.db.selectFrom('webhooks').selectAll().where('id', '=', row.webhook_id).executeTakeFirst();
    if (!hook || !toBool(hook.enabled)) {
      await this.db.updateTable('webhook_deliveries').set({ state: 'failed', lease_until: null, last_error: 'the webhook was disabled or deleted', updated_at: this.iso() }).where('id', '=', row.id).execute();
      return;
    }
    let secret: string;
    try {
      secret = this.secrets.open(hook.secret_enc, WEBHOOK_SECRET_PURPOSE);
    } catch {
      await this.webhookFailed(row, hook.name, null, 'the stored webhook secret cannot be opened (was the master key replaced?): enter it again', report);
      return;
    }
    const ts = Math.floor(this.clock.now() / 1000);
    const res = await postWebhook({
      url: hook.url,
      body: row.body,
      headers: { 'content-type': 'application/json', 'user-agent': this.userAgent, ...signedHeaders(secret, ts, row.body, row.id, row.event) },
      timeoutMs: this.webhookTimeoutMs,
      allowRestricted: toBool(hook.allow_restricted),
      signal: this.abort.signal,
    });
    if (res.ok) {
      const at = this.iso();
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('webhook_deliveries').set({ state: 'delivered', delivered_at: at, lease_until: null, last_status: res.status, last_error: null, updated_at: at }).where('id', '=', row.id).execute();
        await tx.updateTable('webhooks').set({ last_delivery_at: at, last_delivery_state: 'delivered', last_delivery_error: null }).where('id', '=', hook.id).execute();
      });
      report.webhooksDelivered++;
      this.logger.info({ deliveryId: row.id, webhook: hook.name, event: row.event, status: res.status, attempts: row.attempts }, 'webhook delivered');
      return;
    }
    if (this.stopped) {
      await this.release('webhook_deliveries', row.id);
      return;
    }
    await this.webhookFailed(row, hook.name, res.status, res.error ?? 'failed', report);
  }

  private async webhookFailed(row: WebhookDeliveriesTable, hookName: string, status: number | null, message: string, report: RunReport): Promise<void> {
    const at = this.iso();
    const giveUp = row.attempts >= this.webhookRetry.maxAttempts;
    if (!giveUp) {
      const next = this.iso(this.clock.now() + backoffMs(this.webhookRetry, row.attempts));
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('webhook_deliveries').set({ state: 'queued', next_attempt_at: next, lease_until: null, last_status: status, last_error: message, updated_at: at }).where('id', '=', row.id).execute();
        await tx.updateTable('webhooks').set({ last_delivery_at: at, last_delivery_state: 'retrying', last_delivery_error: message }).where('id', '=', row.webhook_id).execute();
      });
      report.webhooksRetrying++;
      this.logger.warn({ deliveryId: row.id, webhook: hookName, event: row.event, attempts: row.attempts, nextAttemptAt: next, error: message }, 'webhook not delivered, will retry');
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('webhook_deliveries').set({ state: 'failed', lease_until: null, last_status: status, last_error: message, updated_at: at }).where('id', '=', row.id).execute();
      await tx.updateTable('webhooks').set({ last_delivery_at: at, last_delivery_state: 'failed', last_delivery_error: message }).where('id', '=', row.webhook_id).execute();
      await audit(tx, SYSTEM_ACTOR, {
        action: 'notify.webhook_failed',
        target: { type: 'webhook', id: row.webhook_id, name: hookName },
        result: 'failure',
        details: { deliveryId: row.id, event: row.event, attempts: row.attempts, status, error: message },
      });
    });
    report.webhooksFailed++;
    this.logger.error({ deliveryId: row.id, webhook: hookName, event: row.event, attempts: row.attempts, error: message }, 'webhook delivery given up');
  }

  /** Claims a due row (compare-and-set: one node wins), counting the attempt. */
  private async claim(table: 'email_outbox' | 'webhook_deliveries', id: string, leaseMs: number): Promise<EmailOutboxTable | WebhookDeliveriesTable | undefined> {
    const now = this.iso();
    const r = await this.db
      .updateTable(table)
      .set((eb) => ({ state: 'sending', lease_until: this.iso(this.clock.now() + leaseMs), attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', '=', id)
      .where((eb) => eb.or([eb.and([eb('state', '=', 'queued'), eb('next_attempt_at', '<=', now)]), eb.and([eb('state', '=', 'sending'), eb('lease_until', '<', now)])]))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    return (await this.db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst()) as EmailOutboxTable | WebhookDeliveriesTable | undefined;
  }

  /** Gives a claimed row back untouched (the gateway is stopping): it is sent after the restart. */
  private async release(table: 'email_outbox' | 'webhook_deliveries', id: string): Promise<void> {
    await this.db
      .updateTable(table)
      .set((eb) => ({ state: 'queued', lease_until: null, attempts: eb('attempts', '-', 1), updated_at: this.iso() }))
      .where('id', '=', id)
      .execute()
      .catch(() => undefined);
  }

  private async prune(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.db.deleteFrom('email_outbox').where('state', '=', 'sent').where('updated_at', '<', this.iso(now - 7 * DAY)).execute();
    await this.db.deleteFrom('email_outbox').where('state', '=', 'failed').where('updated_at', '<', this.iso(now - 30 * DAY)).execute();
    await this.db.deleteFrom('webhook_deliveries').where('state', '=', 'delivered').where('updated_at', '<', this.iso(now - 7 * DAY)).execute();
    await this.db.deleteFrom('webhook_deliveries').where('state', '=', 'failed').where('updated_at', '<', this.iso(now - 30 * DAY)).execute();
    await pruneInboundSeen(this.db, this.iso(now - DAY));
  }
}

/** Addresses of every active administrator that has one (break-glass goes to all of them). */
export async function administratorEmails(ex: Executor): Promise<string[]> {
  const rows = await ex.selectFrom('users').select('email').where('role', '=', 'Administrator').where('status', '=', 'active').where('email', '!=', '').execute();
  return rows.map((r) => r.email);
}

/** Addresses of the given users (those without one, or not active, are left out). */
export async function userEmails(ex: Executor, userIds: readonly string[]): Promise<string[]> {
  if (!userIds.length) return [];
  const rows = await ex.selectFrom('users').select('email').where('id', 'in', [...userIds]).where('status', '=', 'active').where('email', '!=', '').execute();
  return rows.map((r) => r.email);
}

export interface OutboxEmail {
  id: string;
  template: string;
  recipients: string[];
  subject: string;
  state: EmailOutboxTable['state'];
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

/** The newest emails of the outbox (what was sent, what is waiting, what failed and why). */
export async function listOutbox(ex: Executor, filter: { state?: EmailOutboxTable['state'] | undefined; limit?: number } = {}): Promise<{ items: OutboxEmail[]; nextCursor: null }> {
  let q = ex.selectFrom('email_outbox').select(['id', 'template', 'recipients', 'subject', 'state', 'attempts', 'next_attempt_at', 'last_error', 'created_at', 'sent_at']);
  if (filter.state) q = q.where('state', '=', filter.state);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 50).execute();
  return {
    items: rows.map((r) => ({
      id: r.id,
      template: r.template,
      recipients: parseJson<string[]>(r.recipients, []),
      subject: r.subject,
      state: r.state,
      attempts: r.attempts,
      nextAttemptAt: r.state === 'queued' ? r.next_attempt_at : null,
      lastError: r.last_error,
      createdAt: r.created_at,
      sentAt: r.sent_at,
    })),
    nextCursor: null,
  };
}
