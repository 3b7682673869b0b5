/**
 * The fixed ports that tests and benches listen on must lie outside the kernel's
 * ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default): an outgoing connection
 * made meanwhile (to PostgreSQL, to a lab target, by Chromium) may take such a port as its local
 * end, and the next listen() then fails with EADDRINUSE. That happened in CI on 127.0.0.1:42204.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIRS = ['test', 'bench'];
const SCRIPTS = ['scripts/test.sh'];
/** A port literal: `ssh: 2201`, `port: 7398`, `XRDP_PORT = 7398`, `.listen(31962`, `PORT:-29432`. */
const PORT_LITERAL =
  /\b(?:ssh|telnet|vnc|rdp|http|jump|frontdoor|port|sshPort|[A-Z_]*PORT)\s*(?:[:=]|:-)\s*(\d{4,5})\b|\.listen\(\s*(\d{4,5})\b/g;

/** The kernel's ephemeral range, from /proc where there is one. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [Math.min(lo!, 32768), Math.max(hi!, 60999)];
  } catch {
    // not Linux: the Linux default still applies to CI
  }
  return [32768, 60999];
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'fixtures' ? [] : sources(p);
    return /\.(ts|tsx|mjs)$/.test(name) ? [p] : [];
  });
}

test('no fixed test or bench port lies in the kernel ephemeral range', () => {
  const [lo, hi] = ephemeralRange();
  const files = [...DIRS.flatMap((d) => sources(path.join(ROOT, d))), ...SCRIPTS.map((s) => path.join(ROOT, s))];
  const found: string[] = [];
  let checked = 0;
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(PORT_LITERAL)) {
          const port = Number(m[1] ?? m[2]);
          checked++;
          if (port >= lo && port <= hi) found.push(`${path.relative(ROOT, file)}:${i + 1}: ${port}`);
        }
      });
  }
  assert.ok(checked > 50, `only ${checked} port literals found: the pattern no longer matches the tests`);
  assert.deepEqual(found, [], `ports inside ${lo}-${hi}; pick ports below ${lo}`);
});
