import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Screen } from '../../src/server/broker/screen.js';

describe('Screen (the late watcher picture)', () => {
  it('after a burst far larger than its backlog shows the burst as it ended, in order', async () => {
    const screen = new Screen(80, 24);
    try {
      const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i}\r\n`).join('');
      const bytes = Buffer.from(`\x1b[2J${lines}`);
      // Chunks of uneven sizes, one of them larger than the backlog limit on its own.
      for (let i = 0, n = 1; i < bytes.length; i += n, n = n === 700_000 ? 32_768 : n * 3 > 700_000 ? 700_000 : n * 3) screen.write(bytes.subarray(i, i + n));
      screen.write(Buffer.from('\x1b[1mdone\x1b[0m'));
      const snap = await screen.snapshot();
      const shown = snap.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      assert.equal(shown.at(-1), 'done');
      assert.equal(shown.at(-2), 'line 199999');
      // Consecutive lines right up to the end: nothing was dropped from the kept tail or reordered.
      const tail = shown.slice(-150, -1).map((l) => Number(l.split(' ')[1]));
      tail.forEach((n, k) => assert.equal(n, 199_999 - (tail.length - 1 - k)));
    } finally {
      screen.dispose();
    }
  });
});
