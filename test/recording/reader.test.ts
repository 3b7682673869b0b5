/** The reader: tolerant of a torn tail, strict about the header, reports foreign lines. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRecording, RecordingFormatError, recoverRecording } from '../../src/server/recording/reader.js';
import { type TmpEnv, tmpEnv } from './helpers.js';

describe('recording reader', () => {
  let env: TmpEnv;
  before(() => {
    env = tmpEnv();
  });
  after(() => env.cleanup());
  const file = (name: string, body: string) => {
    const p = join(env.root, name);
    writeFileSync(p, body);
    return p;
  };

  it('reads asciinema files as written by other tools (spaces, no title, v2 example)', async () => {
    const p = file('spec.cast', '{"version": 2, "width": 80, "height": 24, "timestamp": 1504467315, "title": "Demo", "env": {"TERM": "xterm-256color", "SHELL": "/bin/zsh"}}\n'
      + '[0.248848, "o", "\\u001b[1;31mHello \\u001b[32mWorld!\\u001b[0m\\n"]\n[1.001376, "o", "That was ok\\rThis is better."]\n[1.500000, "m", ""]\n\n[4.050000, "r", "80x24"]\n');
    const r = await readRecording(p);
    assert.equal(r.header.timestamp, 1504467315);
    assert.deepEqual(r.events.map((e) => e[1]), ['o', 'o', 'm', 'r']);
    assert.equal(r.lastTime, 4.05);
    assert.deepEqual([r.torn, r.badLines, r.missingFinalNewline], [null, [], false]);
  });

  it('reports lines that are not events and a torn last line; rejects a bad header', async () => {
    const r = await readRecording(file('odd.cast', '{"version":2,"width":80,"height":24}\n[0.1, "o", "a"]\nnot json\n[0.2, "x"]\n[0.3, "o", "b"]\n\u0000\u0000\u0000'));
    assert.deepEqual(r.events.map((e) => e[2]), ['a', 'b']);
    assert.deepEqual(r.badLines, [3, 4]);
    assert.deepEqual(r.torn, { offset: r.validBytes, bytes: 3 });
    await assert.rejects(readRecording(file('v1.cast', '{"version":1,"width":80,"height":24,"stdout":[]}\n')), RecordingFormatError);
    await assert.rejects(readRecording(file('torn-header.cast', '{"version":2,"wid')), /header is incomplete/);
    await assert.rejects(readRecording(file('empty.cast', '')), /empty/);
    const rec = await recoverRecording(file('nots.cast', '{"version":2,"width":80,"height":24}\n'));
    assert.deepEqual([rec.events, rec.lastTime, rec.startedAt, rec.sealed], [[], 0, null, false]);
  });
});
