import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind, type FieldError } from '../errors.js';

/** RFC 9457 problem details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

const STATUS: Record<ErrorKind, [number, string]> = {
  validation: [400, 'Invalid request'],
  unauthorized: [401, 'Authentication required'],
  forbidden: [403, 'Forbidden'],
  password_change_required: [403, 'Password change required'],
  mfa_required: [403, 'Second factor required'],
  not_found: [404, 'Not found'],
  conflict: [409, 'Conflict'],
  unprocessable: [422, 'Unprocessable content'],
  unavailable: [503, 'Service unavailable'],
};

export const problemType = (kind: string) => `urn:portcullis:problem:${kind}`;

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

export function problemFromDomain(err: DomainError, instance?: string): Problem {
  const [status, title] = STATUS[err.kind];
  return {
    type: problemType(err.kind),
    title,
    status,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(err.errors.length ? { errors: err.errors } : {}),
  };
}

const FASTIFY_DETAIL: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported Content-Type: send application/json (or text/csv where documented)',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty but Content-Type says application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
};

/** One error handler for the whole API: domain errors, client errors, and 500s without details. */
export function errorHandler(err: FastifyError | DomainError | Error, req: FastifyRequest, reply: FastifyReply) {
  const instance = req.url.split('?')[0];
  if (err instanceof DomainError) return sendProblem(reply, problemFromDomain(err, instance));
  const fe = err as FastifyError;
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const detail = (fe.code && FASTIFY_DETAIL[fe.code]) || (err instanceof SyntaxError ? 'the body is not valid JSON' : fe.message);
    return sendProblem(reply, { type: problemType(status === 429 ? 'rate_limited' : 'bad_request'), title: status === 429 ? 'Too many requests' : 'Bad request', status, detail, ...(instance ? { instance } : {}) });
  }
  req.log.error({ err }, 'request failed');
  return sendProblem(reply, { type: problemType('internal'), title: 'Internal error', status: 500, detail: 'the gateway could not complete the request; the error is in its log', ...(instance ? { instance } : {}) });
}
