import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { AuthContext, AuthenticationType, KeyboardAuthContext, PublicKeyAuthContext } from 'ssh2';
import { type Actor, audit } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { UsersTable, UserSshKeysTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { DomainError } from '../errors.js';
import { type DirectoryLogin, login, loginSchema, secondFactor, secondFactorRequired } from '../identity/auth.js';
import { hasSecondFactor, mfaStatus } from '../identity/mfa/service.js';
import { getSecuritySettings } from '../identity/settings.js';
import { disableInactiveAccounts, expireAccounts, findUserRowByUsername } from '../identity/users.js';
import { nowIso } from '../util.js';
import { findUserKey, markKeyUsed } from './keys.js';
import type { FailureLimiter } from './ratelimit.js';
import { parseLoginName } from './username.js';

/**
 * Sign-in at the SSH front door, with the console's rules (identity/auth.ts): the password
 * (method 'password', or keyboard-interactive "Password:") through login() — local argon2id or the
 * LDAP directory, lockout and audit included — or a registered public key instead of the password;
 * then, when the account has a second factor, a keyboard-interactive "Verification code" checked
 * by secondFactor() (TOTP or recovery code). Refusals the user can act on (locked, must enroll a
 * second factor, must change the password) are sent as an authentication banner.
 *
 * One Authenticator per connection; ssh2 fixes the username for the whole exchange.
 */
export const CODE_PROMPT = 'Verification code (authenticator app or recovery code): ';
export const PASSWORD_PROMPT = 'Password: ';
/** Failed attempts (password, key signature, code) allowed on one connection before it is closed. */
export const MAX_FAILURES_PER_CONNECTION = 6;
const GENERIC = 'invalid username or password';

export interface AuthDeps {
  ctx: Omit<SecretCtx, 'actor'>;
  directory: DirectoryLogin | undefined;
  limiter: FailureLimiter;
  /** Where users go to enroll a second factor or change their password. */
  consoleUrl: string;
  logger: Logger;
}

type FirstFactor =
  | { ok: true; user: UsersTable; stage: 'mfa' | 'enroll' | 'complete'; mustChange: boolean; usable: boolean }
  | { ok: false; message?: string };

export class Authenticator {
  /** The signed-in user once authentication succeeded. */
  user: UsersTable | undefined;
  /** The login name as the client sent it ("alice+PLC-01"). */
  loginName = '';
  private pending: { user: UsersTable; mustChange: boolean } | undefined;
  private failures = 0;
  private bannerSent = false;

  constructor(
    private readonly deps: AuthDeps,
    private readonly ip: string | null,
    private readonly banner: (message: string) => void,
    private readonly hangUp: () => void,
    private readonly loginMessage: () => Promise<string | undefined>,
  ) {}

  private methods(): AuthenticationType[] {
    return this.pending ? ['keyboard-interactive'] : ['publickey', 'password', 'keyboard-interactive'];
  }

  handle(ctx: AuthContext): void {
    this.run(ctx).catch((err) => {
      // Storage trouble: refuse this attempt, never accept.
      this.deps.logger.error({ err, ip: this.ip }, 'SSH front door: sign-in check failed');
      try {
        ctx.reject(this.methods());
      } catch {
        // the connection is gone
      }
    });
  }

  private async run(ctx: AuthContext): Promise<void> {
    this.loginName = ctx.username;
    if (!this.bannerSent) {
      this.bannerSent = true;
      const msg = await this.loginMessage().catch(() => undefined);
      if (msg) this.banner(msg);
    }
    if (this.deps.limiter.blocked(this.ip)) {
      this.banner('Too many failed sign-ins from your address: wait a minute and try again.');
      ctx.reject([]);
      this.hangUp();
      return;
    }
    const username = parseLoginName(ctx.username).user;
    switch (ctx.method) {
      case 'password':
        if (this.pending) return ctx.reject(this.methods());
        return this.decide(ctx, await this.password(username, ctx.password));
      case 'publickey':
        if (this.pending) return ctx.reject(this.methods());
        return this.publicKey(ctx, username);
      case 'keyboard-interactive':
        return this.keyboard(ctx, username);
      default:
        return ctx.reject(this.methods());
    }
  }

  /** The first factor is settled: accept, ask for the code, or refuse. */
  private decide(ctx: AuthContext, r: FirstFactor): void {
    if (!r.ok) return this.fail(ctx, r.message);
    if (r.stage === 'enroll') return this.refuse(ctx, `Your account must enroll a second factor before it can sign in: sign in to the console (${this.deps.consoleUrl}) first.`);
    if (r.stage === 'mfa' && !r.usable) return this.refuse(ctx, `Your second factor is a security key, which SSH cannot use, and you have no recovery code left: enroll an authenticator app in the console (${this.deps.consoleUrl}).`);
    if (r.stage === 'mfa') {
      this.pending = { user: r.user, mustChange: r.mustChange };
      if (ctx.method === 'keyboard-interactive') return this.askCode(ctx);
      // Partial success: the client continues with keyboard-interactive for the code.
      return ctx.reject(['keyboard-interactive'], true);
    }
    if (r.mustChange) return this.refuse(ctx, `You must change your password before you can sign in: sign in to the console (${this.deps.consoleUrl}) first.`);
    this.user = r.user;
    ctx.accept();
  }

  private fail(ctx: AuthContext, message?: string): void {
    this.failures += 1;
    this.deps.limiter.fail(this.ip);
    if (message && message !== GENERIC) this.banner(message);
    ctx.reject(this.methods());
    if (this.failures >= MAX_FAILURES_PER_CONNECTION) {
      this.banner('Too many failed attempts.');
      this.hangUp();
    }
  }

  /** A right credential, but this account may not sign in over SSH now: say why and hang up. */
  private refuse(ctx: AuthContext, message: string): void {
    this.banner(message);
    ctx.reject([]);
    this.hangUp();
  }

  private async password(username: string, password: string): Promise<FirstFactor> {
    const input = loginSchema.safeParse({ username, password });
    if (!input.success) return { ok: false };
    const actor: Actor = { id: null, name: username, ip: this.ip };
    try {
      const out = await login({ ...this.deps.ctx, actor }, input.data, this.ip, this.deps.directory);
      return { ok: true, user: out.user, stage: out.stage, mustChange: out.user.must_change_password === 1, usable: out.mfaMethods.includes('totp') || out.mfaMethods.includes('recovery') };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, message: err.message };
      throw err;
    }
  }

  private async publicKey(ctx: PublicKeyAuthContext, username: string): Promise<void> {
    const { db } = this.deps.ctx;
    const user = await findUserRowByUsername(db, username);
    const key = user ? await findUserKey(db, user.id, ctx.key.data) : undefined;
    // Unknown keys are refused quietly: clients offer every key they hold.
    if (!user || !key) return ctx.reject(this.methods());
    // Without a signature the client only asks whether the key would do (no secret involved).
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    const parsed = ssh2.utils.parseKey(key.public_key);
    const pub = Array.isArray(parsed) ? parsed[0] : parsed;
    const valid = Boolean(pub) && !(pub instanceof Error) && pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
    if (!valid) {
      await audit(db, { id: user.id, name: user.username, ip: this.ip }, { action: 'auth.login', target: { type: 'user', id: user.id, name: user.username }, result: 'failure', details: { method: 'publickey', reason: 'bad signature', key: key.name, fingerprint: key.fingerprint } });
      return this.fail(ctx);
    }
    this.decide(ctx, await this.keyLogin(user, key));
  }

  /**
   * A valid key stands for the password: the same account checks as login() (status, lockout
   * expiry, expiration, inactivity, password change due) and the same audit event.
   */
  private async keyLogin(row: UsersTable, key: UserSshKeysTable): Promise<FirstFactor> {
    const { db } = this.deps.ctx;
    const settings = await getSecuritySettings(db);
    await expireAccounts(db);
    await disableInactiveAccounts(db, settings.disableInactiveDays);
    let user = (await db.selectFrom('users').selectAll().where('id', '=', row.id).executeTakeFirst()) ?? row;
    const actor: Actor = { id: user.id, name: user.username, ip: this.ip };
    const refuse = async (reason: string, message: string): Promise<FirstFactor> => {
      await audit(db, actor, { action: 'auth.login', target: { type: 'user', id: user.id, name: user.username }, result: 'failure', details: { method: 'publickey', reason, key: key.name } });
      return { ok: false, message };
    };
    if (user.status === 'locked' && user.locked_until && user.locked_until <= nowIso()) {
      await db.updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', user.id).where('status', '=', 'locked').execute();
      user = { ...user, status: 'active', failed_logins: 0, locked_until: null };
    }
    if (user.status === 'locked') return refuse('account locked', 'this account is locked after too many failed logins: try again later or ask an administrator to unlock it');
    if (user.status === 'disabled') return refuse('account disabled', 'this account is disabled: ask an administrator');
    if (user.status === 'expired') return refuse('account expired', 'this account has expired: ask an administrator to extend it');
    let mustChange = user.must_change_password === 1;
    if (!mustChange && user.type === 'local' && settings.passwordExpirationDays > 0 && user.password_changed_at) {
      mustChange = Date.now() - Date.parse(user.password_changed_at) > settings.passwordExpirationDays * 86_400_000;
    }
    const mfa = await mfaStatus(db, user.id);
    const stage = hasSecondFactor(mfa) ? 'mfa' : secondFactorRequired(user, settings) ? 'enroll' : 'complete';
    await inTx(db, async (tx) => {
      await tx.updateTable('users').set({ failed_logins: 0, ...(stage === 'complete' && !mustChange ? { last_login_at: nowIso() } : {}) }).where('id', '=', user.id).execute();
      await markKeyUsed(tx, key.id);
      await audit(tx, actor, {
        action: 'auth.login',
        target: { type: 'user', id: user.id, name: user.username },
        details: { method: 'publickey', key: key.name, fingerprint: key.fingerprint, next: stage === 'complete' ? 'signed in' : stage === 'mfa' ? 'second factor' : 'second factor enrollment', mustChangePassword: mustChange },
      });
    });
    return { ok: true, user: { ...user, failed_logins: 0 }, stage, mustChange, usable: mfa.totp || mfa.recoveryCodesLeft > 0 };
  }

  private async keyboard(ctx: KeyboardAuthContext, username: string): Promise<void> {
    if (this.pending) return this.askCode(ctx);
    const answers = await ask(ctx, PASSWORD_PROMPT);
    if (!answers) return ctx.reject(this.methods());
    this.decide(ctx, await this.password(username, answers));
  }

  private askCode(ctx: KeyboardAuthContext): void {
    const pending = this.pending!;
    void ask(ctx, CODE_PROMPT)
      .then(async (code) => {
        if (code === undefined) return ctx.reject(this.methods());
        const trimmed = code.trim().slice(0, 64);
        const status = await mfaStatus(this.deps.ctx.db, pending.user.id);
        const method = status.totp && /^\d{6}$/.test(trimmed) ? 'totp' : 'recovery';
        let user: UsersTable;
        try {
          user = await secondFactor({ ...this.deps.ctx, actor: { id: pending.user.id, name: pending.user.username, ip: this.ip } }, pending.user.id, method, trimmed || '-', this.ip);
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          return this.fail(ctx, err.message);
        }
        this.pending = undefined;
        if (pending.mustChange) return this.refuse(ctx, `You must change your password before you can sign in: sign in to the console (${this.deps.consoleUrl}) first.`);
        this.user = user;
        ctx.accept();
      })
      .catch((err) => {
        this.deps.logger.error({ err, ip: this.ip }, 'SSH front door: second factor check failed');
        ctx.reject(this.methods());
      });
  }
}

/** One hidden keyboard-interactive prompt; undefined when the client gave no answer. */
function ask(ctx: KeyboardAuthContext, prompt: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    ctx.prompt([{ prompt, echo: false }], (answers: string[] | Error) => {
      resolve(Array.isArray(answers) && typeof answers[0] === 'string' ? answers[0] : undefined);
    });
  });
}
