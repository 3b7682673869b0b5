/** A WebSocket client of the session endpoints (connect, watch) for tests: terminal bytes and JSON events. */
import WebSocket from 'ws';

export interface Term {
  ws: WebSocket;
  out: string;
  events: { type: string; [k: string]: unknown }[];
  waitFor(re: RegExp, ms?: number): Promise<void>;
  waitEvent(type: string, ms?: number, where?: (e: { type: string; [k: string]: unknown }) => boolean): Promise<{ type: string; [k: string]: unknown }>;
  closed: Promise<number>;
}

export function term(url: string, cookie: string, origin?: string): Promise<Term> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { cookie, ...(origin ? { origin } : {}) } });
    const t: Term = {
      ws,
      out: '',
      events: [],
      async waitFor(re, ms = 8000) {
        const t0 = Date.now();
        while (!re.test(t.out)) {
          if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; got ${t.out.slice(-400)} / ${JSON.stringify(t.events)}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      async waitEvent(type, ms = 8000, where = () => true) {
        const t0 = Date.now();
        for (;;) {
          const e = t.events.find((x) => x.type === type && where(x));
          if (e) return e;
          if (Date.now() - t0 > ms) throw new Error(`no ${type} event; got ${JSON.stringify(t.events)}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      closed: new Promise((r) => ws.on('close', (code) => r(code))),
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) t.out += data.toString();
      else t.events.push(JSON.parse(data.toString()));
    });
    ws.on('open', () => resolve(t));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

/** The session cookie of a password sign-in (no second factor). */
export async function cookieOf(url: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${await r.text()}`);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}
