import type { Logger } from 'pino';
import type { PseudoTtyInfo, ServerChannel, Session, WindowChangeInfo } from 'ssh2';
import { SessionOpenError, type Broker } from '../broker/broker.js';
import type { LiveSession, Participant } from '../broker/types.js';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { DomainError } from '../errors.js';
import type { TerminalSize } from '../protocols/types.js';
import { type Choice, pickChoice, printable, readLine } from './menu.js';
import { nameOneOf, resolveTarget } from './target.js';
import type { LoginName } from './username.js';

/**
 * One SSH "session" channel at the front door: pty-req, window-change, then a shell (menu or the
 * named asset) or an exec request, opened through the broker like the browser terminal
 * (via 'ssh'), recorded and audited there. The channel and the live session are piped with
 * backpressure both ways; the session's end closes the channel with an exit status.
 *
 * Exit status: the remote command's (or shell's) own when it ended by itself; 255 (what `ssh`
 * returns for its own failures) when the gateway refused, cut or lost the session.
 */
export const EXIT_GATEWAY = 255;

export interface SessionDeps {
  db: Db;
  broker: Broker;
  logger: Logger;
  menuTimeoutMs: number;
}

export interface Principal {
  user: UsersTable;
  login: LoginName;
  ip: string | null;
  /** Things refused on this connection (forwarding...) the user should read about. */
  notes: string[];
  /** Shows a note on the running session's stderr (set while one runs). */
  tell?: (note: string) => void;
}

const SUBSYSTEM_REFUSED = (name: string) =>
  `the "${printable(name).slice(0, 40)}" subsystem is not available through Portcullis: no file transfer (sftp/scp) or other subsystem passes the gateway.`;

export function serveSession(deps: SessionDeps, who: Principal, session: Session): void {
  let pty: { term: string; size: TerminalSize } | undefined;
  let live: LiveSession | undefined;
  let started = false;

  session.on('pty', (accept: (() => void) | undefined, _reject: unknown, info: PseudoTtyInfo) => {
    pty = { term: typeof info.term === 'string' && info.term ? info.term.slice(0, 64) : 'xterm-256color', size: { cols: info.cols || 80, rows: info.rows || 24 } };
    accept?.();
  });
  session.on('window-change', (accept: (() => void) | undefined, _reject: unknown, info: WindowChangeInfo) => {
    const size = { cols: info.cols || 80, rows: info.rows || 24 };
    if (pty) pty.size = size;
    live?.resize(size);
    accept?.();
  });
  session.on('env', (_accept: unknown, reject: (() => void) | undefined) => reject?.());
  session.on('signal', (_accept: unknown, reject: (() => void) | undefined) => reject?.());
  const note = (text: string) => (who.tell ? who.tell(text) : who.notes.push(text));
  session.on('x11', (_accept: unknown, reject: (() => void) | undefined) => {
    note('X11 forwarding is not available through Portcullis.');
    reject?.();
  });
  session.on('auth-agent', (_accept: unknown, reject: (() => void) | undefined) => {
    note('agent forwarding is not available through Portcullis: the gateway signs in to the asset with the vaulted credential.');
    reject?.();
  });
  // One shell, command or subsystem per session channel (a second request is refused).
  const once = (reject: (() => void) | undefined, start: () => void) => {
    if (started) return reject?.();
    started = true;
    start();
  };
  session.on('subsystem', (accept: () => ServerChannel, reject: (() => void) | undefined, info: { name: string }) =>
    once(reject, () => refuse(accept(), SUBSYSTEM_REFUSED(info.name), false)),
  );
  session.on('shell', (accept: () => ServerChannel, reject: (() => void) | undefined) => once(reject, () => void run(accept(), undefined)));
  session.on('exec', (accept: () => ServerChannel, reject: (() => void) | undefined, info: { command: string }) => once(reject, () => void run(accept(), info.command)));

  /**
   * The emergency path at the front door: the refusal, what break-glass means, then the reason
   * (empty, Ctrl-C or 2 minutes without an answer cancel).
   */
  async function askBreakGlass(ch: ServerChannel, refusal: string): Promise<string | undefined> {
    const w = (t: string) => ch.writable && ch.write(`${t.replace(/\n/g, '\r\n')}`);
    w(`[Portcullis] ${printable(refusal)}\n`);
    w('\x1b[1;31mBreak-glass\x1b[0m (emergency access): bypasses the approval, alerts every administrator at once,\n');
    w('is recorded and must be reviewed afterwards. Only in an emergency.\n');
    w('Reason (at least 10 characters; empty to cancel): ');
    const answer = (await readLine(ch, { pty: true, timeoutMs: 120_000, maxLength: 1000 }))?.trim();
    return answer ? answer : undefined;
  }

  /** One clear line on stderr, then the channel closes with a non-zero status. */
  function refuse(ch: ServerChannel, message: string, tty = pty !== undefined): void {
    const nl = tty ? '\r\n' : '\n';
    if (ch.writable) ch.stderr.write(`[Portcullis] ${message}${nl}`);
    close(ch, EXIT_GATEWAY);
  }

  function close(ch: ServerChannel, status: number): void {
    try {
      ch.exit(status);
      ch.end();
    } catch {
      // the client is gone
    }
  }

  async function run(ch: ServerChannel, command: string | undefined): Promise<void> {
    const tty = pty !== undefined;
    const nl = tty ? '\r\n' : '\n';
    ch.on('error', () => {});
    const tell = (note: string) => {
      if (ch.writable) ch.stderr.write(`[Portcullis] ${note}${nl}`);
    };
    for (const note of who.notes.splice(0)) tell(note);
    who.tell = tell;
    let gone = false;
    ch.once('close', () => {
      gone = true;
      if (who.tell === tell) delete who.tell;
    });
    try {
      const target = await resolveTarget(deps.db, who.user, who.login);
      let choice: Choice | undefined;
      if (target.kind === 'refuse') return refuse(ch, target.message);
      if (target.kind === 'open') choice = target.choice;
      else if (command !== undefined) return refuse(ch, nameOneOf(who.user.username, target.choices));
      else {
        choice = await pickChoice(ch, target.choices, { title: target.title, pty: tty, timeoutMs: deps.menuTimeoutMs });
        if (!choice) return close(ch, gone ? EXIT_GATEWAY : 0);
      }
      if (gone) return;
      await bridge(ch, choice, command, () => gone);
    } catch (err) {
      if (err instanceof DomainError) return refuse(ch, err.message);
      deps.logger.error({ err, user: who.user.username }, 'SSH front door: session failed');
      refuse(ch, 'the gateway could not open the session');
    }
  }

  async function bridge(ch: ServerChannel, choice: Choice, command: string | undefined, isGone: () => boolean): Promise<void> {
    const tty = pty !== undefined;
    if (tty) ch.write(`Connecting to ${printable(choice.assetName)} (${choice.protocol}:${choice.port})...\r\n`);
    let s: LiveSession;
    // The client leaves while the session waits for an approver or a moderator: give up.
    const left = new AbortController();
    ch.once('close', () => left.abort());
    const open = (breakGlass?: { reason: string }) =>
      deps.broker.open({
        ...(breakGlass ? { breakGlass } : {}),
        onWait: (w) => {
          if (ch.writable) (tty ? ch : ch.stderr).write(`[Portcullis] ${w.message} (session ${w.sessionId.slice(0, 8)})...${tty ? '\r\n' : '\n'}`);
        },
        signal: left.signal,
        userId: who.user.id,
        assetId: choice.assetId,
        protocol: choice.protocol,
        port: choice.port,
        sourceIp: who.ip,
        via: 'ssh',
        size: pty?.size ?? { cols: 80, rows: 24 },
        ...(pty ? { term: pty.term } : {}),
        ...(command !== undefined ? { command } : {}),
        // `ssh gw cmd` without -t: the command's bytes pass unchanged (no terminal, no CRLF).
        pty: pty !== undefined,
      });
    try {
      try {
        s = await open();
      } catch (err) {
        // Break-glass where a rule allows it: asked on a terminal, with a written reason.
        if (!(err instanceof SessionOpenError && err.breakGlassAvailable && tty && command === undefined)) throw err;
        const reason = await askBreakGlass(ch, err.message);
        if (reason === undefined) return refuse(ch, 'cancelled: no break-glass');
        s = await open({ reason });
      }
    } catch (err) {
      if (err instanceof SessionOpenError && err.breakGlassAvailable) return refuse(ch, `${err.message}. In an emergency, break-glass access is available with a terminal (ssh -t) or in the web console`);
      if (err instanceof SessionOpenError || err instanceof DomainError) return refuse(ch, err.message);
      throw err;
    }
    if (isGone()) {
      await s.close('the SSH client left before the session opened');
      return;
    }
    live = s;
    if (pty) s.resize(pty.size);

    type End = { state: string; reason: string; message: string };
    let finished = false;
    const finish = (ev: End) => {
      if (finished) return;
      finished = true;
      const code = /exited with code (\d+)/.exec(ev.message);
      const status = ev.reason === 'closed' && ev.state === 'ended' ? (code ? Number(code[1]) : 0) : EXIT_GATEWAY;
      // Without a terminal stdout stays the command's: the gateway's reason goes to stderr.
      if (!tty && status === EXIT_GATEWAY && ch.writable) ch.stderr.write(`[Portcullis] Session ended: ${ev.message}\n`);
      close(ch, status);
    };
    ch.on('data', (data: Buffer) => s.input(data));
    // A command's stdin ends (`ssh gw cmd < file`): the asset's command sees end of input too.
    if (command !== undefined) ch.once('end', () => s.endInput());
    ch.resume();
    ch.once('close', () => {
      if (s.state === 'active') void s.close('the SSH client disconnected');
    });
    const owner: Participant = {
      role: 'owner',
      name: who.user.username,
      userId: who.user.id,
      output(data) {
        if (!ch.writable) return true;
        // The broker's own "Session ended: ..." line: shown on a terminal, kept off a command's stdout.
        if (s.state !== 'active' && !tty) return true;
        return ch.write(data);
      },
      event(ev) {
        if (ev.type === 'ended') finish(ev);
      },
    };
    const detach = s.attach(owner);
    ch.on('drain', () => s.resume());
    ch.once('close', detach);
    void s.done.then((d) => finish({ state: d.state, reason: d.reason, message: d.reason }));
  }
}
