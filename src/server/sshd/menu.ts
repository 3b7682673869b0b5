import type { ServerChannel } from 'ssh2';

/** One line of the front door's menu: an asset and one of its terminal access methods. */
export interface Choice {
  assetId: string;
  assetName: string;
  protocol: 'ssh' | 'telnet';
  port: number;
  /** Site / zone, level, safety flag. */
  where: string;
}

const MAX_WRONG = 5;

/** Text from the database shown on a terminal: no control characters (no escape sequences). */
export const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');

export function renderMenu(title: string, choices: Choice[]): string {
  const width = Math.min(40, Math.max(...choices.map((c) => printable(c.assetName).length)));
  const num = String(choices.length).length;
  const lines = choices.map((c, i) => `  ${String(i + 1).padStart(num)}) ${printable(c.assetName).padEnd(width)}  ${`${c.protocol}:${c.port}`.padEnd(11)} ${printable(c.where)}`);
  return `${title}\n${lines.join('\n')}\n`;
}

/**
 * Reads one line typed on the channel. With a PTY the client is in raw mode: the line is echoed,
 * backspace works, escape sequences (arrow keys) are ignored. Printable ASCII only, at most
 * maxLength characters. Resolves undefined on Ctrl-C or Ctrl-D, when the client goes away, or
 * after timeoutMs; what is typed after the line stays for the session.
 */
export function readLine(ch: ServerChannel, o: { pty: boolean; timeoutMs: number; maxLength: number }): Promise<string | undefined> {
  const nl = o.pty ? '\r\n' : '\n';
  const write = (s: string) => {
    if (ch.writable) ch.write(s.replace(/\n/g, nl));
  };
  return new Promise((resolve) => {
    let line = '';
    let esc = 0;
    const done = (answer: string | undefined, rest?: Buffer) => {
      clearTimeout(timer);
      ch.off('data', onData);
      ch.off('close', onClose);
      // Keep what is typed next for the session (flowing without a listener would drop it),
      // including what came in the same packet after the line.
      ch.pause();
      if (rest?.length) ch.unshift(rest);
      resolve(answer);
    };
    const onClose = () => done(undefined);
    const timer = setTimeout(() => {
      write('\nNo answer in time.\n');
      done(undefined);
    }, o.timeoutMs);
    const onData = (data: Buffer) => {
      for (let i = 0; i < data.length; i++) {
        const b = data[i]!;
        if (esc === 1) {
          esc = b === 0x5b || b === 0x4f ? 2 : 0; // CSI or SS3
          continue;
        }
        if (esc === 2) {
          if (b >= 0x40 && b <= 0x7e) esc = 0;
          continue;
        }
        if (b === 0x1b) {
          esc = 1;
          continue;
        }
        if (b === 0x03 || b === 0x04) {
          write('\n');
          return done(undefined);
        }
        if (b === 0x0d || b === 0x0a) {
          if (o.pty) write('\n');
          // CR LF is one end of line.
          const next = b === 0x0d && data[i + 1] === 0x0a ? i + 2 : i + 1;
          return done(line, data.subarray(next));
        }
        if (b === 0x7f || b === 0x08) {
          if (line.length) {
            line = line.slice(0, -1);
            if (o.pty) write('\b \b');
          }
          continue;
        }
        if (b >= 0x20 && b < 0x7f && line.length < o.maxLength) {
          line += String.fromCharCode(b);
          if (o.pty) write(String.fromCharCode(b));
        }
      }
    };
    ch.on('data', onData);
    ch.once('close', onClose);
    ch.resume();
  });
}

/**
 * Shows the choices and reads a number from the channel (readLine). "q", Ctrl-C or Ctrl-D quit.
 * Resolves undefined when the user quits, gives up, goes away or takes longer than timeoutMs.
 */
export async function pickChoice(ch: ServerChannel, choices: Choice[], o: { title: string; pty: boolean; timeoutMs: number }): Promise<Choice | undefined> {
  const nl = o.pty ? '\r\n' : '\n';
  const write = (s: string) => {
    if (ch.writable) ch.write(s.replace(/\n/g, nl));
  };
  write(renderMenu(o.title, choices));
  const deadline = Date.now() + o.timeoutMs;
  let wrong = 0;
  for (;;) {
    write(`Number (1-${choices.length}, q to quit): `);
    const answer = (await readLine(ch, { pty: o.pty, timeoutMs: Math.max(1, deadline - Date.now()), maxLength: 16 }))?.trim();
    if (answer === undefined || /^q(uit)?$/i.test(answer)) return undefined;
    if (!answer) continue;
    const n = /^\d+$/.test(answer) ? Number(answer) : NaN;
    if (n >= 1 && n <= choices.length) return choices[n - 1];
    if (++wrong >= MAX_WRONG) {
      write('Too many wrong answers.\n');
      return undefined;
    }
    write(`Choose a number between 1 and ${choices.length}.\n`);
  }
}
