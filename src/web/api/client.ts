/**
 * The console's only way to the gateway: JSON over fetch to /api/v1 with the session cookie.
 * Every state-changing request carries the CSRF token from the login/session answer; every error
 * is an RFC 9457 problem (ApiError); a 401 outside the sign-in calls sends the user to the login.
 */
import type { FieldError } from '../../server/errors';

/** One rejected field: a JSON pointer ("/accessMethods/0/port") or a CSV row and column. */
export type { FieldError };

export const API_BASE = '/api/v1';

/**
 * An RFC 9457 problem as the console holds it: the gateway's (src/server/http/problem.ts), or one made
 * up here for an answer that is not one (a proxy's 502, an unreachable gateway), hence the optional parts.
 */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
  }
  get fieldErrors(): FieldError[] {
    return this.problem.errors ?? [];
  }
}

let csrfToken: string | null = null;
let unauthorizedHandler: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called once by the auth provider: what to do when the session is gone. */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

/** Builds "?a=1&b=x" from the non-empty values (empty strings and null/undefined are left out). */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function apiUrl(path: string, query?: Query): string {
  return `${API_BASE}${path}${queryString(query)}`;
}

export interface RequestOptions {
  query?: Query;
  /** JSON body (serialized here). */
  json?: unknown;
  /** Raw text body with its own content type (e.g. a CSV file). */
  text?: { body: string; contentType: string };
  signal?: AbortSignal;
  /** Do not treat 401 as "session over" (the sign-in and session probe handle it themselves). */
  allowUnauthorized?: boolean;
}

async function problemFrom(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body = (await res.json()) as Partial<Problem> & { message?: string; error?: string };
      return {
        type: body.type,
        title: body.title ?? body.error ?? res.statusText ?? 'Request failed',
        status: typeof body.status === 'number' ? body.status : res.status,
        detail: body.detail ?? body.message,
        errors: Array.isArray(body.errors) ? body.errors : undefined,
      };
    } catch {
      // fall through: a broken body still has a status
    }
  }
  const fallback: Record<number, string> = {
    401: 'Your session has ended. Please sign in again.',
    403: 'You are not allowed to do this.',
    404: 'Not found.',
    413: 'The request is too large.',
    429: 'Too many requests. Wait a moment and try again.',
    502: 'The gateway is not reachable.',
    503: 'The gateway is not ready.',
  };
  return { title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: fallback[res.status] };
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.text) {
    headers['Content-Type'] = opts.text.contentType;
    body = opts.text.body;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError({ title: 'Gateway unreachable', status: 0, detail: 'The gateway did not answer. Check the network connection and try again.' });
  }

  if (!res.ok) {
    const problem = await problemFrom(res);
    if (res.status === 401 && !opts.allowUnauthorized) unauthorizedHandler?.();
    throw new ApiError(problem);
  }
  if (res.status === 204 || res.headers.get('content-length') === '0') return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) return (await res.json()) as T;
  return (await res.text()) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, json?: unknown) => request<T>('POST', path, { json }),
  patch: <T>(path: string, json: unknown) => request<T>('PATCH', path, { json }),
  delete: (path: string) => request<void>('DELETE', path),
};

/** "the gateway said" text for an unknown thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.problem.detail || err.problem.title;
  if (err instanceof Error) return err.message;
  return String(err);
}
