import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { restrictedAddressReason } from './ssrf.js';

export interface PostResult {
  /** HTTP status, or null when no response came. */
  status: number | null;
  ok: boolean;
  /** What went wrong, in words (null on success). */
  error: string | null;
}

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowRestricted: boolean;
  signal?: AbortSignal | undefined;
}

class RestrictedError extends Error {
  code = 'ERESTRICTED';
}

/** DNS lookup that refuses restricted addresses; the socket connects to the address checked here. */
function guardedLookup(allowRestricted: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return (callback as (e: Error | null, a: LookupAddress[] | string, f?: number) => void)(err, [] as LookupAddress[]);
      const list = (addresses as LookupAddress[]).filter((a) => allowRestricted || !restrictedAddressReason(a.address));
      const cb = callback as (e: Error | null, a: LookupAddress[] | string, f?: number) => void;
      if (!list.length) {
        const first = (addresses as LookupAddress[])[0];
        return cb(new RestrictedError(`${hostname} resolves to ${first ? restrictedAddressReason(first.address) : 'no address'}: refused (SSRF guard)`), []);
      }
      if ((options as { all?: boolean }).all) return cb(null, list);
      return cb(null, list[0]!.address, list[0]!.family);
    });
  };
}

const clean = (s: string, max = 300) => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);

/**
 * POSTs a webhook body: no redirects followed, a hard timeout, at most 4 KB of the answer read
 * (for the error message), the SSRF guard on every resolved address.
 */
export function postWebhook(o: PostOptions): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const u = new URL(o.url);
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(hostname) && !o.allowRestricted) {
      const reason = restrictedAddressReason(hostname);
      if (reason) {
        resolve({ status: null, ok: false, error: `${reason}: refused (SSRF guard)` });
        return;
      }
    }
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, {
      method: 'POST',
      headers: { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) },
      lookup: guardedLookup(o.allowRestricted),
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${Math.round(o.timeoutMs / 1000)} s`));
    }, o.timeoutMs);
    timer.unref?.();
    const onAbort = () => req.destroy(new Error('the gateway is stopping'));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: Error & { code?: string }) => {
      const msg = err.code === 'ECONNREFUSED' ? `connection refused by ${u.host}` : err.code === 'ENOTFOUND' ? `host name ${u.hostname} not found` : clean(err.message);
      done({ status: null, ok: false, error: msg });
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < 4096) text += chunk;
        else res.destroy();
      });
      const finish = () => {
        if (status >= 200 && status < 300) return done({ status, ok: true, error: null });
        const what = status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed: use the final URL)` : `HTTP ${status}${text ? `: ${clean(text, 200)}` : ''}`;
        done({ status, ok: false, error: what });
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(o.body);
  });
}
