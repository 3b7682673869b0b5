import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the console unless dist/web is newer than every file under src/web (PORTCULLIS_E2E_SKIP_BUILD=1 skips). */
export function ensureConsoleBuilt(): void {
  if (process.env.PORTCULLIS_E2E_SKIP_BUILD === '1') return;
  const index = join(repo, 'dist/web/index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(join(repo, 'src/web'))) return;
  execFileSync(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'src/web/vite.config.ts', '--logLevel', 'warn'], { cwd: repo, stdio: 'inherit' });
}

/** Debian's Chromium, headless, without the background traffic this closed network refuses. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/**
 * A console tab that collects problems: page errors and console errors (a CSP violation is one),
 * except Chrome's "Failed to load resource" lines for the HTTP statuses the test expects.
 */
export async function consolePage(browser: Browser, problems: string[], expectedStatuses: number[]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const expected = new RegExp(`Failed to load resource: the server responded with a status of (${expectedStatuses.join('|')})`);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  return { context, page };
}

/**
 * A browser context for one person of a multi-user test (1440x900): every tab it opens collects
 * page errors and console errors into `problems`, except the 401 of the login page's session probe.
 */
export async function watchedContext(browser: Browser, who: string, problems: string[]): Promise<BrowserContext> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  ctx.setDefaultTimeout(20_000);
  ctx.on('page', (p) => {
    p.on('pageerror', (err) => problems.push(`${who} page error: ${err.message}`));
    p.on('console', (msg) => {
      // The session probe on the login page answers 401; everything else (CSP violations included) is a problem.
      if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 401/.test(msg.text())) problems.push(`${who} console: ${msg.text()} (${msg.location().url})`);
    });
  });
  return ctx;
}

/** Signs in through the console's login page (no second factor). */
export async function signIn(p: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await p.goto(baseUrl);
  await p.waitForURL(/\/login$/);
  await p.getByTestId('login-username').fill(username);
  await p.getByTestId('login-password').fill(password);
  await p.getByTestId('login-submit').click();
  await p.getByTestId('user-menu').waitFor();
}

/** The console's test hooks (src/web/sessions): the screen of the page's terminal or player. */
declare global {
  interface Window {
    portcullisTerminal?: { text: () => string; size: () => { cols: number; rows: number } };
    portcullisPlayer?: { text: () => string; time: () => number };
  }
}

/** What the page's terminal (live, watch) shows right now. */
export const screen = (p: Page): Promise<string> => p.evaluate(() => window.portcullisTerminal?.text() ?? '');

/** Waits until the page's terminal shows `re`; returns what it shows. */
export async function waitForScreen(p: Page, re: RegExp, timeout = 15_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const text = await screen(p);
    if (re.test(text)) return text;
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${re} on the terminal; it shows:\n${text}`);
    await p.waitForTimeout(100);
  }
}

/** Closes what an end-to-end test opened, each step even if an earlier one failed. */
export async function closeAll(steps: (() => unknown)[]): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch {
      // teardown: keep going
    }
  }
}
