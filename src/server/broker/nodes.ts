import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Db } from '../db/index.js';
import { nowIso } from '../util.js';
import { type GateActor, MODERATOR_ROLES } from './gates.js';

/**
 * Gateway nodes on one database finding each other. A live session's stream is in the memory of
 * the node holding it, so a watcher who reached another node is proxied there: that node writes a
 * one-time ticket (30 s; only its hash is stored) and opens a WebSocket to the holding node's
 * internal watch endpoint, trusting only the TLS certificate the holding node registered. The holding
 * node redeems the ticket, checks the watcher like its own, and streams as to any watcher.
 */

/** How often a node refreshes its row; a row older than 3 of these is a node that is gone. */
export const NODE_HEARTBEAT_MS = 30_000;
const TICKET_MS = 30_000;
export const NODE_TICKET_HEADER = 'x-portcullis-node-ticket';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface NodeAddress {
  url: string;
  /** PEM; null for a node without TLS. */
  certPem: string | null;
}

/** This node's row: written at start, refreshed every 30 s, removed at shutdown. */
export class NodeRegistration {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { db: Db; node: string; url: string; certPem: string | null; logger: Logger }) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((err: unknown) => this.o.logger.error({ err }, 'could not refresh this gateway node')), NODE_HEARTBEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { db, node, url, certPem } = this.o;
    const row = { url, cert_pem: certPem, seen_at: nowIso() };
    const u = await db.updateTable('gateway_nodes').set(row).where('node', '=', node).executeTakeFirst();
    if (Number(u.numUpdatedRows) === 0) await db.insertInto('gateway_nodes').values({ node, ...row }).execute();
    // Old rows of nodes that are gone, and tickets nobody redeemed.
    await db.deleteFrom('gateway_nodes').where('seen_at', '<', new Date(Date.now() - 3 * NODE_HEARTBEAT_MS).toISOString()).execute();
    await db.deleteFrom('node_tickets').where('expires_at', '<', nowIso()).execute();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.o.db.deleteFrom('gateway_nodes').where('node', '=', this.o.node).execute();
  }
}

/** Where another node is reached, if it runs (its row is fresh). */
export async function nodeAddress(db: Db, node: string): Promise<NodeAddress | undefined> {
  const row = await db.selectFrom('gateway_nodes').selectAll().where('node', '=', node).executeTakeFirst();
  if (!row || Date.parse(row.seen_at) < Date.now() - 3 * NODE_HEARTBEAT_MS) return undefined;
  return { url: row.url, certPem: row.cert_pem };
}

/** A ticket for `node` to let this user watch this session; returns the token (sent once). */
export async function issueTicket(db: Db, t: { node: string; sessionId: string; userId: string; sourceIp: string | null }): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('node_tickets')
    .values({ token_hash: sha256(token), node: t.node, session_id: t.sessionId, user_id: t.userId, source_ip: t.sourceIp, expires_at: new Date(Date.now() + TICKET_MS).toISOString() })
    .execute();
  return token;
}

/** Redeems a ticket once (it is deleted): who may watch which session, or undefined. */
export async function redeemTicket(db: Db, node: string, token: string, sessionId: string): Promise<{ userId: string; sourceIp: string | null } | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const hash = sha256(token);
  const row = await db.selectFrom('node_tickets').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  if (!row) return undefined;
  const gone = await db.deleteFrom('node_tickets').where('token_hash', '=', hash).executeTakeFirst();
  if (Number(gone.numDeletedRows) !== 1) return undefined; // redeemed meanwhile
  if (row.node !== node || row.session_id !== sessionId || Date.parse(row.expires_at) < Date.now()) return undefined;
  return { userId: row.user_id, sourceIp: row.source_ip };
}

/**
 * The watcher a ticket stands for, when it may still watch sessions (an active Administrator or
 * Operator); undefined for a bad, used or expired ticket and for anyone else. The ticket is spent.
 */
export async function ticketWatcher(db: Db, node: string, token: string, sessionId: string): Promise<GateActor | undefined> {
  const t = await redeemTicket(db, node, token, sessionId);
  if (!t) return undefined;
  const user = await db.selectFrom('users').select(['id', 'username', 'role', 'status']).where('id', '=', t.userId).executeTakeFirst();
  if (!user || user.status !== 'active' || !MODERATOR_ROLES.has(user.role)) return undefined;
  return { id: user.id, username: user.username, role: user.role, ip: t.sourceIp };
}

/**
 * Trust for a node's TLS: its registered certificate is the only trust anchor, and the peer must
 * present exactly that certificate (no host name check: nodes are often reached by address).
 */
function trustOnly(certPem: string) {
  const want = new X509Certificate(certPem).fingerprint256;
  return {
    ca: certPem,
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      const seen = cert.raw ? new X509Certificate(cert.raw).fingerprint256 : '';
      return seen === want ? undefined : new Error(`the gateway node presented certificate ${seen || '(none)'}, not the registered ${want}`);
    },
  };
}

/** Opens the holding node's internal watch WebSocket with a ticket. */
export function connectNode(addr: NodeAddress, path: string, token: string): WebSocket {
  const url = new URL(path, addr.url.replace(/^http/, 'ws'));
  const tls = url.protocol === 'wss:';
  if (tls && !addr.certPem) throw new Error('the gateway node registered no certificate to trust');
  return new WebSocket(url, { headers: { [NODE_TICKET_HEADER]: token }, handshakeTimeout: 5000, ...(tls ? trustOnly(addr.certPem!) : {}) });
}
