import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { SecretCtx } from '../context.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Db } from '../db/index.js';
import { invalid } from '../errors.js';
import { zodIssues } from '../validation.js';
import { type Access, actorOf, enforce, isDelegated, loadSession } from './auth.js';
import { DomainError } from '../errors.js';
import { managesUser } from '../identity/delegation.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One row of the permission table: every API route declares who may call it. */
export interface RouteRule {
  method: Method;
  url: string;
  access: Access;
  summary: string;
  allowDuringPasswordChange: boolean;
  stages: readonly ('mfa' | 'enroll')[];
}

export interface Handled<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  ctx: SecretCtx;
  req: FastifyRequest;
}

export interface RouteDef<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: Method;
  url: string;
  summary: string;
  tag: string;
  access: Access;
  body?: B;
  query?: Q;
  params?: P;
  /** For delegated access: the user the request acts on (a manager must manage them). */
  delegatedTarget?: (params: z.output<P>) => string;
  /** Raw text body of this content type instead of JSON (e.g. CSV import). */
  textBody?: string;
  allowDuringPasswordChange?: boolean;
  /** Unfinished sign-in stages allowed to call this route. */
  stages?: readonly ('mfa' | 'enroll')[];
  status?: number;
  handler: (h: Handled<z.output<B>, z.output<Q>, z.output<P>>, reply: FastifyReply) => Promise<unknown>;
}

function jsonSchema(s: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = zodIssues(r.error).map((e) => ({ ...e, path: `${where === 'body' ? '' : `/${where}`}${e.path}` }));
  throw invalid(`invalid ${where}: ${errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`, errors);
}

/** Query strings: "" means "no filter" (as the console's empty search boxes send it). */
function dropEmpty(q: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) if (v !== '') out[k] = v;
  return out;
}

const EMPTY = z.strictObject({});

export interface Router {
  route<B extends z.ZodType = typeof EMPTY, Q extends z.ZodType = typeof EMPTY, P extends z.ZodType = typeof EMPTY>(def: RouteDef<B, Q, P>): void;
  rules: RouteRule[];
}

export interface RouteDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
}

export function createRouter(app: FastifyInstance, deps: RouteDeps, rules: RouteRule[] = []): Router {
  return {
    rules,
    route(def) {
      rules.push({ method: def.method, url: def.url, access: def.access, summary: def.summary, allowDuringPasswordChange: def.allowDuringPasswordChange ?? false, stages: def.stages ?? [] });
      const schema: Record<string, unknown> = { summary: def.summary, tags: [def.tag] };
      if (def.body) schema.body = jsonSchema(def.body);
      if (def.query) schema.querystring = jsonSchema(def.query);
      if (def.params) schema.params = jsonSchema(def.params);
      if (def.textBody) schema.consumes = [def.textBody];
      app.route({
        method: def.method,
        url: def.url,
        schema,
        config: { access: def.access },
        // Authentication and authorization run before the body is read.
        onRequest: async (req) => {
          await loadSession(req, deps.db, deps.config);
          enforce(req, def.access, { allowDuringPasswordChange: def.allowDuringPasswordChange ?? false, stages: def.stages ?? [] });
        },
        handler: async (req, reply) => {
          if (def.textBody && typeof req.body !== 'string') {
            throw invalid(`send the data as ${def.textBody}`);
          }
          const body = def.textBody ? req.body : parse(def.body ?? EMPTY, req.body ?? {}, 'body');
          const query = parse(def.query ?? EMPTY, dropEmpty(req.query), 'query');
          const params = parse(def.params ?? EMPTY, req.params ?? {}, 'params');
          const ctx: SecretCtx = { db: deps.db, actor: actorOf(req), secrets: deps.secrets };
          if (isDelegated(def.access) && !def.access.roles.includes(req.auth!.session.user.role)) {
            const target = def.delegatedTarget?.(params as never);
            if (!target || !(await managesUser(deps.db, req.auth!.session.user.id, target))) {
              throw new DomainError('forbidden', `this needs the role ${def.access.roles.join(' or ')}, or managing the user through a user-management group`);
            }
          }
          const result = await def.handler({ body, query, params, ctx, req } as never, reply);
          if (reply.sent) return reply;
          if (result === undefined) return reply.code(def.status ?? 204).send();
          return reply.code(def.status ?? 200).send(result);
        },
      });
    },
  };
}

export const idParams = z.strictObject({ id: z.uuid('must be an id (UUID)') });
