/** Searchable text from a recorded session: typed commands and escape-free output. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openRecording } from '../../src/server/recording/asciicast.js';
import type { AsciicastEvent } from '../../src/server/recording/reader.js';
import { extractText, indexRecording, TextIndexer } from '../../src/server/recording/text-index.js';
import { fakeClock, type TmpEnv, tmpEnv } from './helpers.js';

const PROMPT = '\x1b]0;alice@hmi-01: ~\x07\x1b[01;32malice@hmi-01\x1b[00m:\x1b[01;34m~\x1b[00m$ ';

describe('text index', () => {
  let env: TmpEnv;
  before(() => {
    env = tmpEnv();
  });
  after(() => env.cleanup());

  it('extracts commands (typos, backspaces, Ctrl-U, arrows) and plain output from a recorded session', async () => {
    const c = fakeClock();
    const rec = await openRecording({ dir: env.dir, id: 'session', width: 80, height: 24, clock: c.clock, signer: env.signer });
    // Each keystroke as its own input event, with the shell's echo as output, like a real session.
    const type = (keys: string, echo = keys) => {
      c.advance(120);
      rec.input(keys);
      if (echo) rec.output(echo);
    };
    rec.output(PROMPT);
    // "lss -la" with a typo fixed by backspace (readline echoes \b\x1b[K)
    for (const k of 'lss') type(k);
    type('\x7f', '\b\x1b[K');
    for (const k of ' -la') type(k);
    type('\r', '\r\n');
    rec.output(Buffer.from('total 8\r\n\x1b[0m\x1b[01;34mbin\x1b[0m  \x1b[01;32mrun.sh\x1b[0m  \x1b[01;31mbackup.tar.gz\x1b[0m  Grüße.txt\r\n'));
    rec.output(PROMPT);
    // "rm -rf /tmp/y" -> fixed to x with backspace (\b as Ctrl-H this time); arrow keys pressed in between
    for (const k of 'rn') type(k);
    type('\b', '\b\x1b[K');
    for (const k of 'm -rf /tmp/y') type(k);
    type('\x1b[A', ''); // up: history, ignored
    type('\x1b[B', '');
    type('\x7f', '\b\x1b[K');
    type('x');
    type('\r', '\r\n');
    rec.output(PROMPT);
    // wrong line killed with Ctrl-U, then a command whose escape sequence is split across two events
    for (const k of 'shutdown -h now') type(k);
    type('\x15', '\r\x1b[K' + PROMPT);
    type('cat /etc/hostname');
    type('\x1b', '');
    type('[D', '\b'); // left arrow, split: ESC | [D
    type('\x1b[C', '\x1b[C'); // right
    type('\r', '\r\n');
    rec.output('hmi-01\r\n' + PROMPT);
    // a paste with two lines (bracketed paste) and a cancelled line
    type('\x1b[200~echo one\recho two\x1b[201~', 'echo one\r\necho two');
    type('\r', '\r\n');
    type('sudo systemctl stop plc', 'sudo systemctl stop plc');
    type('\x03', '^C\r\n');
    // a password prompt: what is typed there is not indexed
    type('sudo -v\r', 'sudo -v\r\n');
    rec.output('[sudo] password for alice: ');
    type('Secret-P4ss\r', '');
    rec.output('\r\n' + PROMPT);
    // left pending at the end of the session
    type('exit');
    const result = await rec.close();

    const ix = await indexRecording(result.path);
    assert.deepEqual(ix.commands, ['ls -la', 'rm -rf /tmp/x', 'cat /etc/hostname', 'echo one', 'echo two', 'sudo -v', 'exit']);
    assert.ok(ix.commands.includes('rm -rf /tmp/x'));
    assert.ok(!ix.commands.some((cmd) => cmd.includes('shutdown')), 'a line killed with Ctrl-U was never run');
    assert.ok(!ix.commands.some((cmd) => cmd.includes('Secret')), 'a typed password is not indexed');
    assert.ok(!ix.outputText.includes('Secret'));
    assert.equal(ix.redactedLines, 1);
    // output: no escape sequences or control characters, words kept apart
    assert.doesNotMatch(ix.outputText, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    assert.doesNotMatch(ix.outputText, /\[0[01];3\dm|alice@hmi-01: ~/, 'SGR and the OSC window title are stripped');
    assert.match(ix.outputText, /^alice@hmi-01:~\$ lss? -la$/m);
    assert.match(ix.outputText, /^total 8\nbin run\.sh backup\.tar\.gz Grüße\.txt$/m);
    assert.match(ix.outputText, /^alice@hmi-01:~\$ rm -rf \/tmp\/x$/m, 'the echo with backspaces reads as the final command');
    assert.match(ix.outputText, /^hmi-01$/m);
    assert.match(ix.outputText, /\[sudo\] password for alice:/);
    assert.deepEqual(ix.truncated, { commands: false, output: false });
  });

  it('strips CSI, OSC (BEL and ST), DCS, charset and C1 sequences, including ones split across events', () => {
    const events: AsciicastEvent[] = [
      [0, 'o', 'a\x1b[38;2;255;0;'],
      [0, 'o', '0mb\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ c'],
      [0, 'o', '\x1bP+q544e\x1b\\d\x1b(Be\x1b7\x1b8f\u009b1mg\u009d2;t\u009ch'],
      [0, 'o', '\x1b[2J\x1b[1;1Htop\x1b[2;1Hbottom\x1b[5Gcol\ttab'],
      [0, 'o', '\x00\x07bell\x7f\r\n\r\n\r\nend   '],
    ];
    const { outputText } = extractText(events);
    assert.equal(outputText, 'ablink cdefgh\ntop\nbottom col tabbell\nend');
  });

  it('caps what it keeps', () => {
    const ix = new TextIndexer({ maxCommands: 3, maxCommandChars: 10, maxOutputChars: 50 });
    for (let i = 0; i < 5; i++) ix.input(`cmd${i}\r`);
    ix.input(`${'x'.repeat(30)}\r`);
    ix.output('y'.repeat(200));
    const r = ix.result();
    assert.deepEqual(r.commands, ['cmd0', 'cmd1', 'cmd2']);
    assert.equal(r.outputText.length, 50);
    assert.deepEqual(r.truncated, { commands: true, output: true });
    const long = new TextIndexer({ maxCommandChars: 10 });
    long.input(`${'x'.repeat(30)}\r`);
    assert.deepEqual(long.result().commands, ['x'.repeat(10)]);
  });

  it('past the output limit still tells a password prompt from a shell prompt', () => {
    const r = extractText([
      [0, 'o', 'z'.repeat(100)],
      [1, 'o', `${'noise '.repeat(5000)}\r\n`],
      [2, 'o', '[sudo] password for op: '],
      [3, 'i', 'hunter2\r'],
      [4, 'o', `\r\n${'\x1b[31mred\x1b[0m '.repeat(3000)}`],
      [5, 'o', '\r\nop@plc:~$ '],
      [6, 'i', 'uptime\r'],
      [7, 'o', 'y'.repeat(100_000)],
    ], { maxOutputChars: 50 });
    assert.deepEqual(r.commands, ['uptime']);
    assert.equal(r.redactedLines, 1);
    assert.equal(r.outputText, 'z'.repeat(50));
    assert.deepEqual(r.truncated, { commands: false, output: true });
  });

  it('edits within the line: Ctrl-W, Ctrl-A/E, Home/End, Delete, CRLF as one Enter', () => {
    const r = extractText([
      [0, 'i', 'rm -rf /opt/old\x17\x17/tmp/scratch\r\n'],
      [1, 'i', 'echo world\x01\x1b[3~\x1b[3~\x1b[3~\x1b[3~\x1b[3~Echo hello \x05!\r'],
      [2, 'i', 'ping plc\x1b[H\x1b[F-01\x1bOH# \r'],
      [3, 'r', '120x40'],
      [4, 'm', 'watcher joined: bob'],
    ]);
    assert.deepEqual(r.commands, ['rm /tmp/scratch', 'Echo hello world!', '# ping plc-01']);
  });
});
