/**
 * Screens that change, drawn by real X clients on a lab desktop (x11-apps, xterm), for the
 * display benchmarks:
 *  - busy: a full-screen xterm repainting a whole screen of fresh text `hz` times a second (a
 *    busy overview / log / alarm list; every repaint changes nearly every pixel row). The frames
 *    are made once up front and printed by bash builtins only, so producing them costs almost no
 *    CPU and no process per frame;
 *  - hmi: a typical operator panel: a few values that change once a second (a digital xclock, an
 *    xload graph and a small xterm with three process values), the rest of the screen still.
 * Every process is started in its own process group and stop() ends exactly those groups.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface XTarget {
  display: number;
  xauthority: string;
}

export interface ScreenLoad {
  stop(): Promise<void>;
}

function startGroup(cmd: string, args: string[], x: XTarget): ChildProcess {
  return spawn(cmd, args, {
    env: { PATH: process.env.PATH, DISPLAY: `:${x.display}`, XAUTHORITY: x.xauthority, HOME: '/nonexistent', LANG: 'C.UTF-8', TERM: 'xterm' },
    stdio: 'ignore',
    detached: true, // own process group: stop() signals the group (xterm and its shell)
  });
}

async function stopGroups(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return resolve();
          const timer = setTimeout(() => {
            try {
              process.kill(-c.pid!, 'SIGKILL');
            } catch {}
          }, 2000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            process.kill(-c.pid!, 'SIGTERM');
          } catch {
            clearTimeout(timer);
            resolve();
          }
        }),
    ),
  );
}

async function settle(children: ChildProcess[], ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
  if (dead) {
    await stopGroups(children);
    throw new Error(`an X client of the screen load exited early (${dead.spawnargs.slice(0, 3).join(' ')}: ${dead.exitCode ?? dead.signalCode})`);
  }
}

/**
 * A full-screen xterm (160x47 cells of 8x17 px: the whole 1280x800 desktop) repainting
 * `frames` precomputed screens of random hex text in a cycle, `hz` repaints a second.
 */
export async function startBusyScreen(x: XTarget, hz = 20, frames = 32): Promise<ScreenLoad> {
  const wait = (1 / hz).toFixed(3);
  // Frames: rows of hex text the size of the terminal (tput), made once; then a loop of builtins.
  const script = [
    'cols=$(tput cols); rows=$(tput lines); F=()',
    `for ((i = 0; i < ${frames}; i++)); do`,
    '  F+=("$(head -c $((cols * rows)) /dev/urandom | od -An -v -tx1 | tr -d " \\n" | fold -w "$cols" | head -n $((rows - 1)))")',
    'done',
    "printf '\\e[?25l'",
    'i=0',
    `while :; do printf '\\e[H%s' "\${F[i]}"; i=$(((i + 1) % ${frames})); read -r -t ${wait} _; done`,
  ].join('\n');
  const term = startGroup(
    'xterm',
    ['-geometry', '160x47+0+0', '-fa', 'DejaVu Sans Mono', '-fs', '10', '-bg', '#0d1117', '-fg', '#7ee787', '-b', '0', '+sb', '-T', 'bench busy screen', '-e', 'bash', '-c', script],
    x,
  );
  await settle([term], 1500);
  return { stop: () => stopGroups([term]) };
}

/** A few values changing once a second on the otherwise still lab desktop. */
export async function startHmiScreen(x: XTarget): Promise<ScreenLoad> {
  const values = [
    "printf '\\e[?25l'",
    'while :; do',
    "  printf '\\e[H Tank T-101 level   %3d.%d %%   \\n Pump P-101 flow    %3d.%d m3/h\\n Line pressure        %d.%02d bar \\n %(%T)T' $((60 + RANDOM % 20)) $((RANDOM % 10)) $((40 + RANDOM % 15)) $((RANDOM % 10)) $((3 + RANDOM % 2)) $((RANDOM % 100)) -1",
    '  read -r -t 1 _',
    'done',
  ].join('\n');
  const children = [
    startGroup('xclock', ['-digital', '-update', '1', '-geometry', '260x40+900+40'], x),
    startGroup('xload', ['-update', '1', '-geometry', '300x120+900+120'], x),
    startGroup('xterm', ['-geometry', '34x4+700+520', '-fa', 'DejaVu Sans Mono', '-fs', '16', '-bg', '#0d1117', '-fg', '#e6edf3', '+sb', '-T', 'bench values', '-e', 'bash', '-c', values], x),
  ];
  await settle(children, 1500);
  return { stop: () => stopGroups(children) };
}
