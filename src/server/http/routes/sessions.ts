import { createReadStream, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { audit } from '../../audit/log.js';
import type { Broker } from '../../broker/broker.js';
import { SessionOpenError } from '../../broker/broker.js';
import { getSessionRow, listSessions, sessionApprovals, sessionCsvRow, sessionFilterSchema, signOffReview, toRecord } from '../../broker/records.js';
import type { GateActor } from '../../broker/gates.js';
import type { LiveSession, Participant, ParticipantEvent } from '../../broker/types.js';
import { DomainError, notFound } from '../../errors.js';
import { mayOversee, overseerCheck, oversightRefusal } from '../../policy/oversight.js';
import { loadSigningKey, verifyRecording } from '../../recording/index.js';
import type { VideoExporter } from '../../recording/video/export.js';
import { pageQuery, queryBool } from '../../validation.js';
import { actorOf } from '../auth.js';
import { answerList } from '../list.js';
import { type RouteDeps, type RouteRule, type Router, idParams } from '../route.js';
import { wsRoute } from '../ws.js';
import { problemFromDomain } from '../problem.js';
import { connectNode, issueTicket, NODE_TICKET_HEADER, nodeAddress, ticketWatcher } from '../../broker/nodes.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;
const HIGH_WATER = 1 << 20;
const WATCHER_LIMIT = 8 << 20;

const connectQuery = z.strictObject({
  assetId: z.uuid(),
  protocol: z.enum(['ssh', 'telnet', 'vnc', 'rdp']),
  port: z.coerce.number().int().min(1).max(65535),
  accountId: z.uuid().optional(),
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
  /** Displays: the browser's drawing area in pixels. */
  width: z.coerce.number().int().min(320).max(4096).default(1280),
  height: z.coerce.number().int().min(200).max(4096).default(800),
  /** Break-glass: the reason follows as the first message, {"type":"break_glass","reason":"..."} (kept out of the URL). */
  breakGlass: queryBool.optional(),
});
const breakGlassMessage = z.strictObject({ type: z.literal('break_glass'), reason: z.string().max(2000) });
/** How long a break-glass connection waits for its reason message. */
const REASON_WAIT_MS = 30_000;
const parseJson = (buf: Buffer): unknown => {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
};
const isDisplay = (protocol: string) => protocol === 'vnc' || protocol === 'rdp';
const clientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resize'), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
  z.strictObject({ type: z.literal('input'), data: z.string().max(65_536) }),
]);

const sendJson = (ws: WebSocket, msg: unknown) => {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
};

/** A WebSocket as a session participant, with backpressure toward the asset. */
/**
 * A WebSocket as a session participant, with backpressure toward the asset. Terminal output goes
 * in binary frames; a display's Guacamole instructions in text frames (`text`).
 */
function wsParticipant(ws: WebSocket, session: () => LiveSession | undefined, role: 'owner' | 'watcher', name: string, userId: string, text = false, moderator = false): Participant {
  return {
    role,
    ...(moderator ? { moderator } : {}),
    name,
    userId,
    output(data) {
      if (ws.readyState !== ws.OPEN) return true;
      if (role === 'watcher' && ws.bufferedAmount > WATCHER_LIMIT) {
        ws.close(1013, 'watcher too slow');
        return true;
      }
      ws.send(data, { binary: !text }, () => {
        if (ws.bufferedAmount < HIGH_WATER / 4) session()?.resume();
      });
      return ws.bufferedAmount < HIGH_WATER;
    },
    event(ev: ParticipantEvent) {
      sendJson(ws, ev);
      if (ev.type === 'ended') setTimeout(() => ws.close(1000, ev.reason), 50);
    },
  };
}

export function sessionRoutes(r: Router, app: FastifyInstance, deps: RouteDeps, rules: RouteRule[], broker: Broker, exporter: VideoExporter) {
  r.route({ method: 'GET', url: '/api/v1/sessions', tag: 'sessions', summary: 'Brokered sessions, newest first (state=live for the Active Sessions page); Clients see their own', access: 'authenticated', query: sessionFilterSchema.extend(pageQuery),
    handler: ({ ctx, query, req }, reply) => {
      const me = req.auth!.session.user;
      const staff = me.role === 'Administrator' || me.role === 'Operator';
      return answerList(reply, query, async (page) => {
        const res = await listSessions(ctx.db, staff ? query : { ...query, user: undefined }, page);
        const items = staff ? res.items : res.items.filter((s) => s.user.id === me.id);
        // Live ones carry their watchers, and whether you may watch them (live oversight).
        const mayWatch = staff ? await overseerCheck(ctx.db, me) : null;
        const out = [];
        for (const s of items) {
          const live = broker.get(s.id);
          // Active on another node too: watching is proxied there.
          out.push({ ...s, watchers: live?.view().watchers ?? [], ...((live || s.state === 'active') && mayWatch ? { mayWatch: await mayWatch(s.asset.id) } : {}) });
        }
        return { items: out, nextCursor: res.nextCursor };
      }, { name: 'sessions', row: sessionCsvRow });
    } });

  r.route({ method: 'GET', url: '/api/v1/sessions/:id', tag: 'sessions', summary: 'One session', access: 'authenticated', params: idParams,
    handler: async ({ ctx, params, req }) => {
      const row = await getSessionRow(ctx.db, params.id);
      const me = req.auth!.session.user;
      if (!row || (row.user_id !== me.id && me.role === 'Client')) throw notFound('session', params.id);
      return { ...toRecord(row), watchers: broker.get(row.id)?.view().watchers ?? [], paused: broker.get(row.id)?.view().paused ?? false, approvals: await sessionApprovals(ctx.db, row.id) };
    } });

  const gateActor = (req: Parameters<typeof actorOf>[0]): GateActor => {
    const me = req.auth!.session.user;
    return { id: me.id, username: me.username, role: me.role, ip: req.ip };
  };
  /** 404 for an unknown session, 409 for one that is not (or no longer) waiting at this gate. */
  const waitingAt = async (id: string, kind: 'approval' | 'moderator') => {
    // Live approvals can be decided on any node; a moderator joins on the node holding the session.
    const w = kind === 'approval' ? await broker.gates.find(id) : broker.gates.get(id);
    if (w?.waitingFor === kind) return w;
    const row = await getSessionRow(deps.db, id);
    if (!row) throw notFound('session', id);
    throw new DomainError('conflict', w ? `the session waits for ${w.waitingFor === 'approval' ? 'an approval' : 'a moderator'}, not for ${kind === 'approval' ? 'an approval' : 'a moderator'}` : `the session is not waiting for ${kind === 'approval' ? 'an approval' : 'a moderator'} (it is ${row.state})`);
  };

  r.route({ method: 'GET', url: '/api/v1/sessions/waiting', tag: 'sessions', summary: 'Sessions waiting at a gate that you may act on: live approval (approvers) or a moderator (Administrators, Operators)', access: 'authenticated',
    handler: async ({ req }) => {
      const me = req.auth!.session.user;
      return { items: await broker.waitingFor(me) };
    } });

  r.route({ method: 'POST', url: '/api/v1/sessions/:id/approve', tag: 'sessions', summary: 'Approve a session waiting for a live approval; it opens once enough distinct approvers (never its user) approved', access: 'authenticated', params: idParams,
    body: z.strictObject({ comment: z.string().trim().max(500).optional() }),
    handler: async ({ params, body, req }) => {
      await waitingAt(params.id, 'approval');
      return broker.gates.approve(params.id, gateActor(req), body.comment || null);
    } });

  r.route({ method: 'POST', url: '/api/v1/sessions/:id/reject', tag: 'sessions', summary: 'Reject a session waiting for a live approval, with a reason the user sees', access: 'authenticated', params: idParams,
    body: z.strictObject({ reason: z.string().trim().min(1, 'say why').max(500) }),
    handler: async ({ params, body, req }, reply) => {
      await waitingAt(params.id, 'approval');
      await broker.gates.reject(params.id, gateActor(req), body.reason);
      return reply.code(204).send();
    } });

  r.route({ method: 'POST', url: '/api/v1/sessions/:id/review', tag: 'sessions', summary: 'Sign off the mandatory review of an ended break-glass session (never your own), with your finding', access: ADMIN, params: idParams,
    body: z.strictObject({ note: z.string().trim().min(1, 'write down what you checked and found').max(2000) }),
    handler: async ({ params, body, req }) => signOffReview(deps.db, params.id, gateActor(req), body.note, new Date(broker.clock.now()).toISOString()) });

  r.route({ method: 'POST', url: '/api/v1/sessions/:id/terminate', tag: 'sessions', summary: 'The red button: end a live session now, with a reason', access: ADMIN, params: idParams,
    body: z.strictObject({ reason: z.string().trim().min(1, 'say why').max(500) }),
    handler: async ({ ctx, params, body }) => {
      await broker.terminate(params.id, ctx.actor, body.reason);
      const row = await getSessionRow(ctx.db, params.id);
      return toRecord(row!);
    } });

  r.route({ method: 'GET', url: '/api/v1/sessions/:id/recording', tag: 'sessions', summary: 'The session recording for playback: asciicast v2 (terminals) or Guacamole instructions (displays)', access: STAFF, params: idParams,
    handler: async ({ ctx, params }, reply) => {
      const row = await getSessionRow(ctx.db, params.id);
      if (!row?.recording_path) throw notFound('recording of session', params.id);
      await audit(ctx.db, ctx.actor, { action: 'recording.view', target: { type: 'session', id: row.id, name: row.id.slice(0, 8) }, details: { user: row.username, asset: row.asset_name } });
      const file = resolve(deps.config.dataDir, row.recording_path);
      const info = await stat(file).catch(() => {
        throw notFound('recording file of session', params.id);
      });
      // Streamed: a display recording can be hundreds of megabytes.
      const text = createReadStream(file);
      const type = row.recording_path.endsWith('.guac') ? 'application/x-guacamole-recording; charset=utf-8' : 'application/x-asciicast; charset=utf-8';
      return reply.type(type).header('cache-control', 'no-store').header('content-length', info.size).send(text);
    } });

  const displayRecording = async (id: string) => {
    const row = await getSessionRow(deps.db, id);
    if (!row?.recording_path) throw notFound('recording of session', id);
    if (!row.recording_path.endsWith('.guac')) throw new DomainError('unprocessable', 'only display (VNC, RDP) recordings are exported to video; terminal recordings play in the console');
    if (row.state === 'active' || row.state === 'pending') throw new DomainError('conflict', 'the session is still live: export its recording once it has ended');
    return row;
  };

  r.route({ method: 'POST', url: '/api/v1/sessions/:id/recording/video', tag: 'sessions', summary: 'Start exporting a display recording to MP4 (ffmpeg, in the background); GET the same URL for progress', access: ADMIN, params: idParams,
    handler: async ({ ctx, params }, reply) => {
      const row = await displayRecording(params.id);
      const job = exporter.start(row.id, resolve(deps.config.dataDir, row.recording_path!));
      await audit(ctx.db, ctx.actor, { action: 'recording.export', target: { type: 'session', id: row.id, name: row.id.slice(0, 8) }, details: { user: row.username, asset: row.asset_name, format: 'mp4' } });
      return reply.code(202).send(job);
    } });

  r.route({ method: 'GET', url: '/api/v1/sessions/:id/recording/video', tag: 'sessions', summary: 'Progress of the MP4 export of a display recording (state none, running, done, failed)', access: ADMIN, params: idParams,
    handler: async ({ params }) => {
      await displayRecording(params.id);
      // Never exported: a state, not an error (the playback page asks on every visit).
      return exporter.get(params.id) ?? { sessionId: params.id, state: 'none', progress: 0 };
    } });

  r.route({ method: 'GET', url: '/api/v1/sessions/:id/recording/video/file', tag: 'sessions', summary: 'The exported MP4 of a display recording (downloading it is audited)', access: ADMIN, params: idParams,
    handler: async ({ ctx, params }, reply) => {
      const row = await displayRecording(params.id);
      const job = exporter.get(params.id);
      if (job?.state !== 'done') throw notFound('finished video export of session', params.id);
      await audit(ctx.db, ctx.actor, { action: 'recording.view', target: { type: 'session', id: row.id, name: row.id.slice(0, 8) }, details: { user: row.username, asset: row.asset_name, format: 'mp4' } });
      const file = exporter.path(row.id);
      return reply
        .type('video/mp4')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="session-${row.id.slice(0, 8)}.mp4"`)
        .header('content-length', statSync(file).size)
        .send(createReadStream(file));
    } });

  r.route({ method: 'GET', url: '/api/v1/sessions/:id/recording/verify', tag: 'sessions', summary: "Check the recording against its signed manifest (SHA-256, Ed25519)", access: STAFF, params: idParams,
    handler: async ({ ctx, params }) => {
      const row = await getSessionRow(ctx.db, params.id);
      if (!row?.recording_path) throw notFound('recording of session', params.id);
      const v = await verifyRecording(resolve(deps.config.dataDir, row.recording_path), loadSigningKey(deps.config.dataDir).publicKeyPem);
      return v.ok ? { ok: true, interrupted: v.interrupted, sha256: v.manifest.sha256, bytes: v.manifest.bytes, keyId: v.manifest.keyId } : { ok: false, reason: v.reason, message: v.message };
    } });

  r.route({ method: 'GET', url: '/api/v1/assets/:id/host-keys', tag: 'sessions', summary: "The asset's pinned SSH host keys", access: STAFF, params: idParams,
    handler: async ({ ctx, params }) => ({ items: (await ctx.db.selectFrom('asset_host_keys').selectAll().where('asset_id', '=', params.id).execute()).map((k) => ({ port: k.port, fingerprint: k.fingerprint, pinnedAt: k.pinned_at, pinnedBy: k.pinned_by })) }) });

  r.route({ method: 'DELETE', url: '/api/v1/assets/:id/host-keys/:port', tag: 'sessions', summary: 'Forget a pinned host key after checking the new one: the next connection pins what it sees', access: ADMIN,
    params: z.strictObject({ id: z.uuid('must be an id (UUID)'), port: z.coerce.number().int().min(1).max(65535) }),
    handler: async ({ ctx, params }) => {
      const row = await ctx.db.selectFrom('asset_host_keys').selectAll().where('asset_id', '=', params.id).where('port', '=', params.port).executeTakeFirst();
      if (!row) throw notFound('pinned host key', `${params.id}:${params.port}`);
      await ctx.db.deleteFrom('asset_host_keys').where('asset_id', '=', params.id).where('port', '=', params.port).execute();
      const asset = await ctx.db.selectFrom('assets').select('name').where('id', '=', params.id).executeTakeFirst();
      await audit(ctx.db, ctx.actor, { action: 'asset.host_key_forget', target: { type: 'asset', id: params.id, name: asset?.name ?? null }, details: { port: params.port, fingerprint: row.fingerprint } });
    } });

  wsRoute(app, deps, rules, {
    url: '/api/v1/sessions/connect',
    access: 'authenticated',
    summary: 'Open a brokered session. Terminals: binary frames are terminal bytes, text frames JSON events. Displays (vnc, rdp): text frames are Guacamole instructions both ways, plus JSON events (starting with "{") from the gateway',
    handler: async (ws, req) => {
      const parsed = connectQuery.safeParse(req.query);
      if (!parsed.success) {
        sendJson(ws, { type: 'ended', state: 'failed', reason: 'bad_request', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
        ws.close(1008, 'bad request');
        return;
      }
      const q = parsed.data;
      const me = req.auth!.session.user;
      let session: LiveSession | undefined;
      const early: Buffer[] = [];
      const display = isDisplay(q.protocol);
      // The user leaves while the session waits (for its reason, an approver, a moderator): give up.
      const left = new AbortController();
      ws.once('close', () => left.abort());
      let gotReason: ((reason: string) => void) | undefined;
      ws.on('message', (data, isBinary) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        if (!session && gotReason && !isBinary && buf[0] === 0x7b) {
          const m = breakGlassMessage.safeParse(parseJson(buf));
          if (m.success) gotReason(m.data.reason);
          return;
        }
        if (display) {
          // Guacamole instructions; before the session is open there is nothing to steer yet.
          if (session && !isBinary) session.input(buf);
          return;
        }
        if (!session) {
          if (isBinary && early.length < 64) early.push(buf);
          return;
        }
        if (isBinary) return session.input(buf);
        const m = clientMessage.safeParse(parseJson(buf));
        if (!m.success) return sendJson(ws, { type: 'error', message: 'unknown message' });
        if (m.data.type === 'resize') session.resize({ cols: m.data.cols, rows: m.data.rows });
        else session.input(Buffer.from(m.data.data, 'utf8'));
      });
      sendJson(ws, { type: 'state', state: 'pending' });
      let reason: string | undefined;
      if (q.breakGlass) {
        sendJson(ws, { type: 'break_glass', message: 'send the reason: {"type":"break_glass","reason":"..."}' });
        reason = await new Promise<string | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), REASON_WAIT_MS);
          gotReason = (r) => {
            clearTimeout(timer);
            resolve(r);
          };
          left.signal.addEventListener('abort', () => resolve(undefined), { once: true });
        });
        gotReason = undefined;
        if (left.signal.aborted) return;
        if (reason === undefined) {
          sendJson(ws, { type: 'ended', state: 'failed', reason: 'bad_request', message: 'break-glass needs a written reason' });
          ws.close(1008, 'no reason');
          return;
        }
      }
      try {
        session = await broker.open({
          userId: me.id, assetId: q.assetId, protocol: q.protocol, port: q.port, ...(q.accountId ? { accountId: q.accountId } : {}), sourceIp: req.ip, via: 'browser', size: { cols: q.cols, rows: q.rows }, screen: { width: q.width, height: q.height },
          ...(reason !== undefined ? { breakGlass: { reason } } : {}),
          onWait: (w) => sendJson(ws, { type: 'waiting', ...w }),
          signal: left.signal,
        });
      } catch (err) {
        const message = err instanceof DomainError ? err.message : 'the gateway could not open the session';
        const open = err instanceof SessionOpenError ? err : undefined;
        sendJson(ws, { type: 'ended', state: 'failed', reason: open ? open.failure : 'error', message, ...(open?.sessionId ? { sessionId: open.sessionId } : {}), ...(open?.breakGlassAvailable ? { breakGlassAvailable: true } : {}) });
        ws.close(1000, 'failed');
        return;
      }
      const s = session;
      if (ws.readyState !== ws.OPEN) {
        await broker.terminate(s.id, actorOf(req), 'the browser left before the session opened').catch(() => {});
        return;
      }
      sendJson(ws, { type: 'opened', session: s.view() });
      const detach = s.attach(wsParticipant(ws, () => s, 'owner', me.username, me.id, display));
      for (const b of early) s.input(b);
      ws.on('close', () => {
        detach();
        // Closing the browser tab ends the session (the asset must not stay logged in unattended).
        if (s.state === 'active') void s.close('the user closed the terminal');
      });
    },
  });

  /** A watcher (a moderator, for a session that needs one) of a session held by this node. */
  const watchHere = async (ws: WebSocket, id: string, who: GateActor): Promise<void> => {
    const actor = { id: who.id, name: who.username, ip: who.ip };
    let s = broker.get(id);
    if (!s && broker.gates.get(id)?.waitingFor === 'moderator') {
      // Watch required: joining as moderator lets the waiting session open.
      sendJson(ws, { type: 'state', state: 'pending', message: 'opening the session you moderate' });
      try {
        s = await broker.moderate(id, who);
      } catch (err) {
        sendJson(ws, { type: 'ended', state: 'failed', reason: err instanceof SessionOpenError ? err.failure : 'error', message: err instanceof DomainError ? err.message : 'the session could not be opened' });
        ws.close(1000, 'failed');
        return;
      }
    }
    if (!s) {
      sendJson(ws, { type: 'ended', state: 'ended', reason: 'not_live', message: 'the session is not live' });
      ws.close(1000, 'not live');
      return;
    }
    const live = s;
    const view = live.view();
    if (!(await mayOversee(deps.db, who, view.assetId))) {
      const message = await oversightRefusal(deps.db);
      await audit(deps.db, actor, { action: 'session.watch', target: { type: 'session', id, name: id.slice(0, 8) }, result: 'failure', details: { user: view.username, asset: view.assetName, reason: message } });
      sendJson(ws, { type: 'ended', state: 'failed', reason: 'forbidden', message });
      ws.close(1000, 'forbidden');
      return;
    }
    const moderator = view.moderated && view.userId !== who.id;
    await audit(deps.db, actor, { action: 'session.watch', target: { type: 'session', id, name: id.slice(0, 8) }, details: { user: view.username, asset: view.assetName, ...(moderator ? { moderator: true } : {}) } });
    if (ws.readyState !== ws.OPEN) return;
    sendJson(ws, { type: 'opened', session: live.view(), ...(moderator ? { moderator: true } : {}) });
    const detach = live.attach(wsParticipant(ws, () => live, 'watcher', who.username, who.id, view.kind === 'display', moderator));
    ws.on('message', () => {}); // watchers are read-only
    ws.on('close', detach);
  };

  /**
   * A session held by another node (several nodes on one database): the watcher is proxied to
   * it with a one-time ticket (broker/nodes.ts); that node checks and audits the watcher like its own.
   */
  const watchElsewhere = async (ws: WebSocket, id: string, who: GateActor, node: string): Promise<void> => {
    const fail = (reason: string, message: string) => {
      sendJson(ws, { type: 'ended', state: 'failed', reason, message });
      ws.close(1000, reason);
    };
    const addr = await nodeAddress(deps.db, node);
    if (!addr) return fail('node_unreachable', `the session runs on gateway node ${node}, which has not been seen for over a minute`);
    let upstream: WebSocket;
    try {
      const token = await issueTicket(deps.db, { node, sessionId: id, userId: who.id, sourceIp: who.ip });
      upstream = connectNode(addr, `/api/v1/internal/sessions/${encodeURIComponent(id)}/watch`, token);
    } catch (err) {
      return fail('node_unreachable', `the gateway node holding the session (${node}) cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    let opened = false;
    upstream.on('open', () => (opened = true));
    upstream.on('message', (data: Buffer, binary: boolean) => {
      if (ws.readyState !== ws.OPEN) return;
      // The same limit as for a watcher on the holding node: a stuck browser is let go.
      if (ws.bufferedAmount > WATCHER_LIMIT) {
        ws.close(1013, 'watcher too slow');
        upstream.close();
        return;
      }
      ws.send(data, { binary });
    });
    upstream.on('error', (err) => {
      if (!opened) fail('node_unreachable', `the gateway node holding the session (${node}) cannot be reached: ${err.message}`);
    });
    upstream.on('close', () => {
      if (ws.readyState === ws.OPEN) ws.close(1000, 'ended');
    });
    ws.on('message', () => {}); // watchers are read-only
    ws.on('close', () => upstream.close());
  };

  wsRoute(app, deps, rules, {
    url: '/api/v1/sessions/:id/watch',
    access: STAFF,
    summary: 'Watch a live session read-only (over the shoulder): the current screen, then the live stream',
    handler: async (ws, req) => {
      const id = (req.params as { id?: string }).id ?? '';
      const who = gateActor(req);
      const node = broker.get(id) || broker.gates.get(id) ? undefined : await broker.heldElsewhere(id);
      await (node ? watchElsewhere(ws, id, who, node) : watchHere(ws, id, who));
    },
  });

  // The other end of watchElsewhere(): the holding node, for a watcher with a ticket.
  rules.push({ method: 'GET', url: '/api/v1/internal/sessions/:id/watch', access: 'public', summary: 'Node to node: a watcher proxied from another gateway node (one-time ticket header) (WebSocket)', allowDuringPasswordChange: true, stages: [] });
  app.get('/api/v1/internal/sessions/:id/watch', {
    websocket: true,
    schema: { hide: true },
    onRequest: async (req, reply) => {
      const problem = (status: number, kind: 'validation' | 'unauthorized', detail: string) => reply.code(status).type('application/problem+json').send(problemFromDomain(new DomainError(kind, detail), req.url.split('?')[0]));
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') return problem(400, 'validation', 'this endpoint speaks WebSocket only');
      const token = req.headers[NODE_TICKET_HEADER];
      const id = (req.params as { id?: string }).id ?? '';
      const watcher = typeof token === 'string' ? await ticketWatcher(deps.db, broker.node, token, id) : undefined;
      if (!watcher) return problem(401, 'unauthorized', 'a valid node ticket is required (for an active Administrator or Operator)');
      (req as { nodeWatcher?: GateActor }).nodeWatcher = watcher;
    },
  }, (async (ws: WebSocket, req: import('fastify').FastifyRequest) => {
    await watchHere(ws, (req.params as { id?: string }).id ?? '', (req as { nodeWatcher?: GateActor }).nodeWatcher!);
  }) as never);
}
