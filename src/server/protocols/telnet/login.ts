/**
 * Scripted credential injection for Telnet: the asset's login dialogue is driven by prompts, so
 * the gateway waits for the login prompt, types the username, waits for the password prompt,
 * types the password, then decides from what the asset says next.
 *
 * Configurable per access method (TerminalTarget.options, strings compiled as case-insensitive
 * regular expressions, tested against the end of what the asset sent since the last thing typed):
 *   loginPrompt     default /login:\s*$/i
 *   passwordPrompt  default /password:\s*$/i
 *   successPattern  no default: success is any further output that is not a failure, once it has
 *                   settled (SETTLE_MS); with a pattern, success is when it matches
 *   failurePattern  default /(login incorrect|authentication failed|access denied)/i
 *
 * A password prompt before any login prompt is answered with the password (password-only
 * devices). Everything the asset sends while logging in is kept (up to TRANSCRIPT_CAP) so the user
 * sees the banner; the password is redacted from it should a broken asset echo it.
 */
import { ConnectError, type TerminalCredential } from '../types.js';

export const DEFAULT_LOGIN_PROMPT = /login:\s*$/i;
export const DEFAULT_PASSWORD_PROMPT = /password:\s*$/i;
export const DEFAULT_FAILURE_PATTERN = /(login incorrect|authentication failed|access denied)/i;

/** Longest pattern accepted in the options. */
export const MAX_PATTERN_LENGTH = 200;
/**
 * Bytes the asset may send before the login is decided (plus one chunk when, after the password,
 * the cap is what decides success; see feed()).
 */
export const TRANSCRIPT_CAP = 64 * 1024;
/** Tail of the output the patterns are tested against (bounds the regex work per chunk). */
export const MATCH_WINDOW = 4096;
/** Without a success pattern: quiet time after the first real output following the password. */
export const SETTLE_MS = 400;

export const LOGIN_OPTION_KEYS = ['loginPrompt', 'passwordPrompt', 'successPattern', 'failurePattern'] as const;

export interface LoginConfig {
  loginPrompt: RegExp;
  passwordPrompt: RegExp;
  successPattern?: RegExp;
  failurePattern: RegExp;
  settleMs: number;
}

function compileOption(options: TerminalTargetOptions, key: (typeof LOGIN_OPTION_KEYS)[number]): RegExp | undefined {
  const value = options[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ConnectError('protocol', `Telnet option ${key} must be a string (a regular expression)`);
  if (value.length > MAX_PATTERN_LENGTH) {
    throw new ConnectError('protocol', `Telnet option ${key} is too long (${value.length} characters, at most ${MAX_PATTERN_LENGTH})`);
  }
  try {
    return new RegExp(value, 'i');
  } catch (err) {
    throw new ConnectError('protocol', `Telnet option ${key} is not a valid regular expression: ${(err as Error).message}`);
  }
}

type TerminalTargetOptions = Record<string, string | number | boolean>;

/** Reads the login options of an access method; throws ConnectError('protocol') on a bad one. */
export function parseLoginConfig(options: TerminalTargetOptions, settleMs = SETTLE_MS): LoginConfig {
  return {
    loginPrompt: compileOption(options, 'loginPrompt') ?? DEFAULT_LOGIN_PROMPT,
    passwordPrompt: compileOption(options, 'passwordPrompt') ?? DEFAULT_PASSWORD_PROMPT,
    successPattern: compileOption(options, 'successPattern'),
    failurePattern: compileOption(options, 'failurePattern') ?? DEFAULT_FAILURE_PATTERN,
    settleMs,
  };
}

export type LoginOutcome = { ok: true } | { ok: false; failure: 'auth_failed' | 'protocol'; message: string };

export type LoginPhase = 'prompt' | 'username-sent' | 'password-sent' | 'done';

export interface LoginIo {
  /** Types a line on the asset (the caller encodes it for the NVT). Never logged. */
  sendLine(text: string): void;
  done(outcome: LoginOutcome): void;
}

/** Replaces every occurrence of `secret` in `buf` (no-op for an empty secret). */
export function redact(buf: Buffer, secret: Buffer, mask = Buffer.from('********')): Buffer {
  if (secret.length === 0) return buf;
  let at = buf.indexOf(secret);
  if (at < 0) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(buf.subarray(from, at), mask);
    from = at + secret.length;
    at = buf.indexOf(secret, from);
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

export class LoginScript {
  phase: LoginPhase = 'prompt';
  private readonly chunks: Buffer[] = [];
  private received = 0;
  /** What the asset sent since we last typed something (latin1: one char per byte), tail only. */
  private window = '';
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly secret: Buffer;
  private readonly secretLatin1: string;

  constructor(
    private readonly config: LoginConfig,
    private readonly credential: TerminalCredential,
    private readonly io: LoginIo,
  ) {
    this.secret = Buffer.from(credential.password ?? '', 'utf8');
    this.secretLatin1 = this.secret.toString('latin1');
  }

  /** Feeds output of the asset (Telnet commands already removed). */
  feed(data: Buffer): void {
    if (this.phase === 'done') return;
    this.received += data.length;
    const overCap = this.received > TRANSCRIPT_CAP;
    if (overCap && !this.mayFinishAtCap()) {
      this.finish({ ok: false, failure: 'protocol', message: `the asset sent more than ${TRANSCRIPT_CAP / 1024} KiB before the login completed` });
      return;
    }
    this.chunks.push(data);
    this.window += data.toString('latin1');
    if (this.window.length > MATCH_WINDOW) this.window = this.window.slice(-MATCH_WINDOW);
    this.evaluate();
    // An asset that streams right after a successful login (a log console) fills the cap before
    // the settle time: without a success pattern, lots of output that is no failure is success.
    if (overCap && this.phase === 'password-sent') this.finish({ ok: true });
  }

  private mayFinishAtCap(): boolean {
    return this.phase === 'password-sent' && this.config.successPattern === undefined;
  }

  /** The login dialogue as received (banner, prompts, the echoed username), password redacted. */
  transcript(): Buffer {
    return redact(Buffer.concat(this.chunks), this.secret);
  }

  /** Stops the settle timer (the connection ends another way). */
  dispose(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.phase = 'done';
  }

  /** For the timeout message: what the script was waiting for. */
  waitingFor(): string {
    switch (this.phase) {
      case 'prompt':
        return 'a login prompt';
      case 'username-sent':
        return 'a password prompt';
      default:
        return 'the outcome of the login';
    }
  }

  private type(text: string, next: LoginPhase): void {
    this.window = '';
    this.phase = next;
    this.io.sendLine(text);
  }

  private evaluate(): void {
    const { config } = this;
    switch (this.phase) {
      case 'prompt':
        // The banner is not checked against the failure pattern ("unauthorized access denied").
        if (config.loginPrompt.test(this.window)) this.typeUsername();
        else if (config.passwordPrompt.test(this.window)) this.typePassword();
        break;
      case 'username-sent':
        if (this.checkFailure(this.window)) return;
        if (config.passwordPrompt.test(this.window)) this.typePassword();
        break;
      case 'password-sent': {
        const text = this.afterPassword();
        if (this.checkFailure(text)) return;
        if (config.successPattern) {
          if (config.successPattern.test(text)) this.finish({ ok: true });
        } else if (this.settleTimer === undefined && /\S/.test(text)) {
          this.settleTimer = setTimeout(() => this.settled(), config.settleMs);
        }
        break;
      }
      case 'done':
        break;
    }
  }

  private typeUsername(): void {
    if (/[\0\r\n]/.test(this.credential.username)) {
      this.finish({ ok: false, failure: 'protocol', message: 'the vaulted username contains control characters that cannot be typed over Telnet' });
      return;
    }
    this.type(this.credential.username, this.credential.password === undefined ? 'password-sent' : 'username-sent');
  }

  private typePassword(): void {
    const { password } = this.credential;
    if (password === undefined) {
      this.finish({ ok: false, failure: 'auth_failed', message: 'the asset asks for a password but the vault holds none for this account' });
      return;
    }
    if (/[\0\r\n]/.test(password)) {
      this.finish({ ok: false, failure: 'protocol', message: 'the vaulted password contains control characters that cannot be typed over Telnet' });
      return;
    }
    this.type(password, 'password-sent');
  }

  /** Output since the password was typed, without any echo of it. */
  private afterPassword(): string {
    return this.secretLatin1 ? this.window.split(this.secretLatin1).join('') : this.window;
  }

  private checkFailure(text: string): boolean {
    const m = this.config.failurePattern.exec(text);
    if (!m) return false;
    const said = m[0]
      .replace(/[\x00-\x1f\x7f]+/g, ' ')
      .trim()
      .slice(0, 80);
    this.finish({ ok: false, failure: 'auth_failed', message: `the asset refused the vaulted credential${said ? ` (${said})` : ''}` });
    return true;
  }

  private settled(): void {
    this.settleTimer = undefined;
    if (this.phase !== 'password-sent') return;
    const text = this.afterPassword();
    if (this.config.passwordPrompt.test(text) || this.config.loginPrompt.test(text)) {
      this.finish({ ok: false, failure: 'auth_failed', message: 'the asset refused the vaulted credential (it asked for the login again)' });
      return;
    }
    this.finish({ ok: true });
  }

  private finish(outcome: LoginOutcome): void {
    if (this.phase === 'done') return;
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.phase = 'done';
    this.io.done(outcome);
  }
}
