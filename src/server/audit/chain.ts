import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an audit hash covers. The sequence number is deliberately not among them: the
 * chain is carried by prev_hash, so a renumbered (inserted) row shows up as a broken link. */
export interface AuditContent {
  id: string;
  at: string;
  actor_id: string | null;
  actor_name: string;
  source_ip: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  result: string;
  details: string;
}

export function hashAuditEvent(prevHash: string, c: AuditContent): string {
  const canonical = JSON.stringify([
    c.id, c.at, c.actor_id, c.actor_name, c.source_ip, c.action,
    c.target_type, c.target_id, c.target_name, c.result, c.details,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}
