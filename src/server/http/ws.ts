import type {} from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { DomainError } from '../errors.js';
import { problemFromDomain } from './problem.js';
import { type Access, enforce, loadSession } from './auth.js';
import type { RouteDeps, RouteRule } from './route.js';

/**
 * A WebSocket route under the same permission table as the REST routes. The upgrade request is
 * authenticated by the console session cookie, and its Origin must be this gateway (no
 * cross-site WebSocket hijacking; the cookie is SameSite=Strict as well).
 */
export function wsRoute(
  app: FastifyInstance,
  deps: RouteDeps,
  rules: RouteRule[],
  def: { url: string; access: Access; summary: string; handler: (socket: WebSocket, req: FastifyRequest) => void | Promise<void> },
): void {
  rules.push({ method: 'GET', url: def.url, access: def.access, summary: `${def.summary} (WebSocket)`, allowDuringPasswordChange: false, stages: [] });
  app.get(def.url, {
    websocket: true,
    schema: { hide: true },
    onRequest: async (req, reply) => {
      await loadSession(req, deps.db, deps.config);
      enforce(req, def.access);
      const origin = req.headers.origin;
      if (origin !== undefined) {
        let ok = false;
        try {
          const o = new URL(origin);
          const expected = deps.config.publicUrl ? new URL(deps.config.publicUrl).host : req.host;
          ok = o.host === expected;
        } catch {
          ok = false;
        }
        if (!ok) throw new DomainError('forbidden', 'WebSocket from another origin refused');
      }
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
        const p = problemFromDomain(new DomainError('validation', 'this endpoint speaks WebSocket only'), req.url.split('?')[0]);
        return reply.code(400).type('application/problem+json').send(p);
      }
    },
  }, def.handler as never);
}
