import type { Role } from '../users.js';
import type { GroupMapping } from './domains.js';
import { firstRdnValue, normalizeDn } from './filter.js';

const RANK: Record<Role, number> = { Client: 1, Operator: 2, Administrator: 3 };

export interface MappedAccess {
  /** The highest role any matching mapping grants; null when none grants one. */
  role: Role | null;
  /** Portcullis permission groups the user belongs in. */
  groupIds: string[];
  /** The configured groups that matched, as configured (for the audit trail). */
  matched: string[];
}

/**
 * Maps directory groups to a role and permission groups. A mapping's group is a DN (compared
 * without case and separator spacing) or, without "=", a bare CN compared with each group's
 * first RDN value.
 */
export function mapGroups(groupDns: string[], mappings: GroupMapping[]): MappedAccess {
  const dns = new Set(groupDns.map(normalizeDn));
  const cns = new Set(groupDns.map(firstRdnValue));
  let role: Role | null = null;
  const groupIds = new Set<string>();
  const matched: string[] = [];
  for (const m of mappings) {
    const hit = m.group.includes('=') ? dns.has(normalizeDn(m.group)) : cns.has(m.group.trim().toLowerCase());
    if (!hit) continue;
    matched.push(m.group);
    if (m.role && (role === null || RANK[m.role] > RANK[role])) role = m.role;
    if (m.groupId) groupIds.add(m.groupId);
  }
  return { role, groupIds: [...groupIds], matched };
}
