/**
 * Table types shared by both dialects. Portable choices: ids are text UUIDs, timestamps are
 * ISO-8601 UTC text (sortable), booleans are 0/1 integers, structured values are JSON text.
 */
export type Bool = 0 | 1;

export interface SitesTable {
  id: string;
  name: string;
  description: string;
  timezone: string;
  stream_quality: 'low' | 'medium' | 'high';
  max_connections: number;
  created_at: string;
  updated_at: string;
}

export interface ZonesTable {
  id: string;
  site_id: string;
  name: string;
  purdue_level: number;
  target_sl: number;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface AssetsTable {
  id: string;
  name: string;
  site_id: string;
  zone_id: string | null;
  purdue_level: number;
  host: string;
  /** JSON: AccessMethod[] */
  access_methods: string;
  safety_critical: Bool;
  /** JSON: LoginWindow[] or null for "any time" */
  login_times: string | null;
  vendor_name: string;
  model: string;
  firmware: string;
  description: string;
  state: 'imported' | 'active';
  created_at: string;
  updated_at: string;
}

export interface AssetTagsTable {
  asset_id: string;
  tag: string;
}

export interface VendorsTable {
  id: string;
  name: string;
  /** JSON: Contact[] */
  contacts: string;
  contract_end: string | null;
  last_assessment: string | null;
  terms_accepted: Bool;
  terms_accepted_at: string | null;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string;
  role: 'Administrator' | 'Operator' | 'Client';
  type: 'local' | 'ldap';
  affiliation: 'employee' | 'vendor';
  vendor_id: string | null;
  expires_at: string | null;
  otp_required: Bool;
  status: 'active' | 'disabled' | 'locked' | 'expired';
  password_hash: string | null;
  must_change_password: Bool;
  failed_logins: number;
  locked_until: string | null;
  password_changed_at: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface GroupsTable {
  id: string;
  name: string;
  kind: 'permission' | 'user_management';
  description: string;
  created_at: string;
  updated_at: string;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  added_at: string;
}

export interface GrantsTable {
  id: string;
  subject_type: 'user' | 'group';
  subject_id: string;
  target_type: 'asset' | 'site' | 'zone' | 'tag';
  /** asset/site/zone id, or the tag itself */
  target: string;
  created_at: string;
  created_by: string | null;
}

export interface ConsoleSessionsTable {
  /** SHA-256 (hex) of the cookie token: the token itself is never stored. */
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  source_ip: string | null;
  user_agent: string;
}

export interface AuditEventsTable {
  seq: number;
  id: string;
  at: string;
  actor_id: string | null;
  actor_name: string;
  source_ip: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  result: 'success' | 'failure';
  /** JSON object: the summary of the change */
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface DB {
  sites: SitesTable;
  zones: ZonesTable;
  assets: AssetsTable;
  asset_tags: AssetTagsTable;
  vendors: VendorsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  grants: GrantsTable;
  console_sessions: ConsoleSessionsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
}
