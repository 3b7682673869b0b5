import { z } from 'zod';
import { audit, changes } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Executor } from '../db/index.js';
import { inTx } from '../db/tx.js';
import { type FieldError, invalid } from '../errors.js';
import { nowIso } from '../util.js';
import { host } from '../validation.js';

/** Purpose bound to the sealed SMTP password (crypto/secretbox): it opens nowhere else. */
export const SMTP_PASSWORD_PURPOSE = 'notify.smtp';
/** Key of the document in the `settings` table. */
export const SMTP_SETTINGS_KEY = 'smtp';

export const SMTP_SECURITY = ['none', 'starttls', 'tls'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const EMAIL = z.email();
const optionalEmail = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .refine((s) => s === '' || EMAIL.safeParse(s).success, 'must be an email address such as portcullis@plant.example');
const optionalHost = z
  .string()
  .trim()
  .max(253, 'must be at most 253 characters')
  .refine((s) => s === '' || host.safeParse(s).success, 'must be an IPv4/IPv6 address or a DNS host name such as mail.plant.example');

/**
 * System Management -> Email (SMTP). What an OT plant typically has: an internal relay on port 25
 * without TLS and without authentication, or a mail server on 587 with STARTTLS and a service
 * account, or 465 with TLS from the start.
 */
const smtpFields = {
  /** Off: notify.email() queues nothing. */
  enabled: z.boolean(),
  host: optionalHost,
  port: z.number('must be a port number (1-65535)').int('must be a port number (1-65535)').min(1, 'must be a port number (1-65535)').max(65535, 'must be a port number (1-65535)'),
  /** none = plain SMTP (STARTTLS ignored), starttls = upgrade required, tls = TLS from the start (465). */
  security: z.enum(SMTP_SECURITY),
  /** Empty: no authentication (an internal relay that trusts the gateway's address). */
  username: z.string().trim().max(256, 'must be at most 256 characters').regex(NO_CONTROL, 'must not contain control characters'),
  fromAddress: optionalEmail,
  fromName: z.string().trim().max(128, 'must be at most 128 characters').regex(NO_CONTROL, 'must not contain control characters'),
  /** For test servers only: accept a self-signed or otherwise unverifiable certificate. */
  acceptSelfSigned: z.boolean(),
  /** Name the gateway gives in EHLO (some relays want a FQDN); empty = the machine's host name. */
  heloName: optionalHost,
};

export const smtpSettingsSchema = z.strictObject({
  enabled: smtpFields.enabled.default(false),
  host: smtpFields.host.default(''),
  port: smtpFields.port.default(587),
  security: smtpFields.security.default('starttls'),
  username: smtpFields.username.default(''),
  fromAddress: smtpFields.fromAddress.default(''),
  fromName: smtpFields.fromName.default('Portcullis'),
  acceptSelfSigned: smtpFields.acceptSelfSigned.default(false),
  heloName: smtpFields.heloName.default(''),
});
type SmtpDoc = z.output<typeof smtpSettingsSchema>;

/** PUT body: the whole document; `password` is write-only (absent keeps it, null removes it). */
export const smtpSettingsPutSchema = smtpSettingsSchema.extend({
  password: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters').nullable().optional(),
});
export type SmtpSettingsPut = z.output<typeof smtpSettingsPutSchema>;

/** What the API returns: never the password, only whether one is stored. */
export interface SmtpSettings extends SmtpDoc {
  hasPassword: boolean;
  updatedAt: string | null;
}

/** Settings with the password opened, in memory only, for one connection. */
export interface SmtpConnection extends SmtpDoc {
  password: string | null;
}

interface Stored extends SmtpDoc {
  passwordSealed: string | null;
}

async function readStored(ex: Executor): Promise<{ doc: Stored; updatedAt: string | null }> {
  const row = await ex.selectFrom('settings').select(['value', 'updated_at']).where('key', '=', SMTP_SETTINGS_KEY).executeTakeFirst();
  let raw: Record<string, unknown> = {};
  try {
    raw = row ? (JSON.parse(row.value) as Record<string, unknown>) : {};
  } catch {
    raw = {};
  }
  const { passwordSealed, ...rest } = raw;
  const parsed = smtpSettingsSchema.safeParse(rest);
  const doc = parsed.success ? parsed.data : smtpSettingsSchema.parse({});
  return { doc: { ...doc, passwordSealed: typeof passwordSealed === 'string' ? passwordSealed : null }, updatedAt: row?.updated_at ?? null };
}

const publicForm = ({ passwordSealed, ...doc }: Stored, updatedAt: string | null): SmtpSettings => ({ ...doc, hasPassword: passwordSealed !== null, updatedAt });

export async function getSmtpSettings(ex: Executor): Promise<SmtpSettings> {
  const { doc, updatedAt } = await readStored(ex);
  return publicForm(doc, updatedAt);
}

/** The settings with the password opened (throws SecretBoxError if it cannot be opened). */
export async function smtpConnection(ex: Executor, secrets: SecretBox): Promise<SmtpConnection> {
  const { doc } = await readStored(ex);
  const { passwordSealed, ...rest } = doc;
  return { ...rest, password: passwordSealed ? secrets.open(passwordSealed, SMTP_PASSWORD_PURPOSE) : null };
}

/** True when email can be sent at all (enabled, a host and a sender). */
export const smtpUsable = (s: SmtpDoc) => s.enabled && s.host !== '' && s.fromAddress !== '';

/** Changing where or how the password goes needs it again: a stored one never follows a new server. */
const CONNECTION_FIELDS = ['host', 'port', 'security', 'username', 'acceptSelfSigned'] as const;

function check(next: SmtpDoc, hasPassword: boolean): void {
  const errors: FieldError[] = [];
  if (next.enabled && !next.host) errors.push({ path: '/host', message: 'is required when email is enabled' });
  if (next.enabled && !next.fromAddress) errors.push({ path: '/fromAddress', message: 'is required when email is enabled' });
  if (next.username && !hasPassword) errors.push({ path: '/password', message: 'is required with a username' });
  if (!next.username && hasPassword) errors.push({ path: '/username', message: 'a password needs a username' });
  if (next.username && next.security === 'none') {
    errors.push({ path: '/security', message: 'authentication over an unencrypted connection would send the password in clear text: use starttls or tls, or no username for a relay without authentication' });
  }
  if (next.acceptSelfSigned && next.security === 'none') errors.push({ path: '/acceptSelfSigned', message: 'only applies with starttls or tls' });
  if (errors.length) throw invalid(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
}

/** Replaces the SMTP settings (audited; the password is never in the audit, only replaced/removed). */
export async function putSmtpSettings(ctx: SecretCtx, input: SmtpSettingsPut): Promise<SmtpSettings> {
  return inTx(ctx.db, async (tx) => {
    const { doc: before } = await readStored(tx);
    const { password, ...next } = input;
    const hadPassword = before.passwordSealed !== null;
    const moved = CONNECTION_FIELDS.filter((k) => next[k] !== before[k]);
    if (moved.length && hadPassword && password === undefined && next.username !== '') {
      throw invalid(`re-enter the password (or null to remove it) when changing ${moved.join(', ')}: the stored password is only sent to the server it was entered for`, [{ path: '/password', message: 'required with this change' }]);
    }
    // Without a username no password is kept.
    const sealed = next.username === '' ? null : password === undefined ? before.passwordSealed : password === null ? null : ctx.secrets.seal(password, SMTP_PASSWORD_PURPOSE);
    check(next, sealed !== null);
    const stored: Stored = { ...next, passwordSealed: sealed };
    const value = JSON.stringify(stored);
    const now = nowIso();
    const exists = await tx.selectFrom('settings').select('key').where('key', '=', SMTP_SETTINGS_KEY).executeTakeFirst();
    if (exists) await tx.updateTable('settings').set({ value, updated_at: now, updated_by: ctx.actor.id }).where('key', '=', SMTP_SETTINGS_KEY).execute();
    else await tx.insertInto('settings').values({ key: SMTP_SETTINGS_KEY, value, updated_at: now, updated_by: ctx.actor.id }).execute();
    const { passwordSealed: _b, ...beforePublic } = before;
    const credential = sealed === before.passwordSealed ? undefined : sealed === null ? 'removed' : 'replaced';
    await audit(tx, ctx.actor, {
      action: 'settings.smtp_update',
      target: { type: 'settings', id: SMTP_SETTINGS_KEY, name: 'Email (SMTP)' },
      details: { changes: changes(beforePublic as Record<string, unknown>, next as Record<string, unknown>), ...(credential ? { smtpCredential: credential } : {}) },
    });
    return publicForm(stored, now);
  });
}
