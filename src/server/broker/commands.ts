import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db, Executor } from '../db/index.js';
import { nowIso, parseJson } from '../util.js';

/**
 * What one gateway node asks of the node holding a live session (several nodes on one
 * PostgreSQL database): sessions live in the memory of the node the user connected to, so the
 * red button pressed on another node, a user deactivated there, an access request revoked or
 * extended there, or the T-5 warning its sweeper claimed, travel as rows of `session_commands`.
 */
export type SessionCommand =
  | { kind: 'terminate'; sessionId: string; by: string; reason: string }
  | { kind: 'warn'; sessionId: string; message: string; msLeft: number }
  | { kind: 'refresh_limits'; userId: string; assetIds: string[] };

/** How often a node looks for commands addressed to it: the red button must act within 1 s. */
export const COMMAND_POLL_MS = 200;
/** Commands older than this are removed (carried out, or addressed to a node that is gone). */
const KEEP_MS = 24 * 3600_000;
const CLEANUP_EVERY_MS = 10 * 60_000;

const KINDS = new Set<SessionCommand['kind']>(['terminate', 'warn', 'refresh_limits']);

/** Addresses a command to a node; in `ex` so it commits (or not) with the change that causes it. */
export async function sendCommand(ex: Executor, node: string, c: SessionCommand): Promise<void> {
  const { kind, ...rest } = c;
  await ex.insertInto('session_commands').values({ id: randomUUID(), node, kind, payload: JSON.stringify(rest), created_at: nowIso(), done_at: null }).execute();
}

/**
 * A node's inbox: polls for the commands addressed to it, claims each one (an UPDATE that only
 * one poll can win) and hands it to `handle`. A command whose session has ended meanwhile is
 * simply done. Rounds read the database only while the node holds live sessions (`holding`):
 * commands go only to the node a live session's row names.
 */
export class CommandInbox {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastCleanup = 0;

  constructor(
    private readonly o: {
      db: Db;
      node: string;
      logger: Logger;
      handle: (c: SessionCommand) => Promise<void>;
      /** Whether this node holds live sessions; while it holds none, a round reads nothing. */
      holding: () => boolean;
      pollMs?: number;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.o.pollMs ?? COMMAND_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: every pending command of this node, oldest first. */
  async poll(): Promise<void> {
    if (this.busy || !this.o.holding()) return;
    this.busy = true;
    try {
      const { db, node } = this.o;
      const rows = await db.selectFrom('session_commands').selectAll().where('node', '=', node).where('done_at', 'is', null).orderBy('created_at').limit(100).execute();
      for (const r of rows) {
        const claimed = await db.updateTable('session_commands').set({ done_at: nowIso() }).where('id', '=', r.id).where('done_at', 'is', null).executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) continue;
        const c = parseCommand(r.kind, r.payload);
        if (!c) {
          this.o.logger.warn({ command: r.id, kind: r.kind }, 'ignored a malformed session command');
          continue;
        }
        await this.o.handle(c).catch((err: unknown) => this.o.logger.error({ err, command: r.id, kind: r.kind }, 'a session command failed'));
      }
      if (Date.now() - this.lastCleanup > CLEANUP_EVERY_MS) {
        this.lastCleanup = Date.now();
        await db.deleteFrom('session_commands').where('created_at', '<', new Date(Date.now() - KEEP_MS).toISOString()).execute();
      }
    } catch (err) {
      this.o.logger.error({ err }, 'could not read the session commands');
    } finally {
      this.busy = false;
    }
  }
}

/** A stored command, checked field by field (the table is shared by every node). */
export function parseCommand(kind: string, payload: string): SessionCommand | undefined {
  if (!KINDS.has(kind as SessionCommand['kind'])) return undefined;
  const p = parseJson<Record<string, unknown>>(payload, {});
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  switch (kind) {
    case 'terminate': {
      const [sessionId, by, reason] = [str('sessionId'), str('by'), str('reason')];
      return sessionId && by !== undefined && reason !== undefined ? { kind, sessionId, by, reason } : undefined;
    }
    case 'warn': {
      const [sessionId, message] = [str('sessionId'), str('message')];
      return sessionId && message !== undefined && typeof p.msLeft === 'number' ? { kind, sessionId, message, msLeft: p.msLeft } : undefined;
    }
    default: {
      const userId = str('userId');
      const ids = Array.isArray(p.assetIds) && p.assetIds.every((a) => typeof a === 'string') ? (p.assetIds as string[]) : undefined;
      return userId && ids ? { kind: 'refresh_limits', userId, assetIds: ids } : undefined;
    }
  }
}
