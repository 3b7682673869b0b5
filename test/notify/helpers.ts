import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** MAIL FROM and RCPT TO as the server saw them. */
  envelopeFrom: string;
  envelopeTo: string[];
  /** The user that authenticated (undefined without AUTH). */
  user: string | undefined;
  /** Whether the session was encrypted when the message came. */
  secure: boolean;
  raw: string;
  headers: Map<string, string>;
  /** The decoded text/plain and text/html parts. */
  text: string;
  html: string;
}

function decodeQp(s: string): string {
  const soft = s.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseHeaders(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return out;
}

function decodePart(part: string): { type: string; body: string } {
  const sep = part.search(/\r?\n\r?\n/);
  const h = parseHeaders(part.slice(0, sep));
  let body = part.slice(sep).replace(/^\r?\n\r?\n/, '');
  const enc = (h.get('content-transfer-encoding') ?? '').toLowerCase();
  if (enc === 'quoted-printable') body = decodeQp(body);
  else if (enc === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { type: (h.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase(), body: body.replace(/\r\n/g, '\n').replace(/\n$/, '') };
}

export function parseMail(raw: string): { headers: Map<string, string>; text: string; html: string } {
  const sep = raw.search(/\r?\n\r?\n/);
  const headers = parseHeaders(raw.slice(0, sep));
  const ct = headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/i.exec(ct)?.[1];
  let text = '';
  let html = '';
  if (boundary) {
    for (const chunk of raw.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const p = decodePart(chunk.replace(/^\r?\n/, ''));
      if (p.type === 'text/plain') text = p.body;
      if (p.type === 'text/html') html = p.body;
    }
  } else {
    const p = decodePart(raw);
    text = p.body;
  }
  return { headers, text, html };
}

export interface TestSmtp {
  port: number;
  cert: string;
  messages: ReceivedMail[];
  /** Resolves when at least n messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 at a port the OS picks. With `auth`, AUTH
 * PLAIN/LOGIN is required and checked; with `starttls`, STARTTLS is offered with a self-signed
 * certificate made here (and required before AUTH).
 */
export async function startSmtp(opts: { auth?: { user: string; pass: string }; starttls?: boolean; implicitTls?: boolean } = {}): Promise<TestSmtp> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  } as never);
  const messages: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const tls = opts.starttls || opts.implicitTls;
  const server = new SMTPServer({
    secure: !!opts.implicitTls,
    ...(tls ? { key: pems.private, cert: pems.cert } : {}),
    disabledCommands: [...(opts.auth ? [] : ['AUTH']), ...(tls && !opts.implicitTls ? [] : ['STARTTLS'])],
    authOptional: !opts.auth,
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = parseMail(raw);
        messages.push({
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          secure: session.secure,
          raw,
          ...parsed,
        });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    cert: pems.cert,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > until) throw new Error(`expected ${n} message(s), got ${messages.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port where nothing listens (bound, then closed). */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface ReceivedHook {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A real HTTP receiver on 127.0.0.1: answers each request with the next status of `statuses` (then 200). */
export async function startReceiver(statuses: number[] = []): Promise<{ url: string; requests: ReceivedHook[]; statuses: number[]; close(): Promise<void> }> {
  const requests: ReceivedHook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? 'receiver is broken' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/portcullis`,
    requests,
    statuses,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
