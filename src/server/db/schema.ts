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
  ldap_domain_id: string | null;
  ldap_dn: string | null;
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
  stage: 'mfa' | 'enroll' | 'complete';
  mfa_method: string | null;
  /** Pending WebAuthn challenge of this session (base64url), if any. */
  challenge: string | null;
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

export interface AuditCheckpointsTable {
  seq: number;
  key_id: string;
  hash: string;
  at: string;
  signature: string;
}

export interface SettingsTable {
  key: string;
  /** JSON document */
  value: string;
  updated_at: string;
  updated_by: string | null;
}

export interface PasswordHistoryTable {
  user_id: string;
  hash: string;
  created_at: string;
}

export interface MfaTotpTable {
  user_id: string;
  /** Active secret sealed with the gateway's master key (crypto/secretbox); null until confirmed. */
  secret_enc: string | null;
  /** Secret of an enrollment not confirmed yet (re-enrolling keeps the old one until then). */
  pending_secret_enc: string | null;
  confirmed_at: string | null;
  /** Last accepted 30-second step: a code is never accepted twice. */
  last_step: number;
  created_at: string;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

export interface WebauthnCredentialsTable {
  /** Credential id, base64url */
  id: string;
  user_id: string;
  name: string;
  /** COSE public key, base64url */
  public_key: string;
  counter: number;
  /** JSON string[] */
  transports: string;
  created_at: string;
  last_used_at: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** SHA-256 (hex) of the token */
  token_hash: string;
  /** First characters, to recognize a token in lists */
  prefix: string;
  role: 'Administrator' | 'Operator' | 'Client';
  /** The account the token acts as (audit actor) */
  user_id: string;
  expires_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  created_at: string;
}

export interface LdapDomainsTable {
  id: string;
  name: string;
  url: string;
  bind_dn: string;
  bind_password_enc: string | null;
  base_dn: string;
  user_filter: string;
  username_attribute: string;
  /** JSON: { group: string (DN or CN), role?: Role, groupId?: string }[] */
  group_mappings: string;
  tls_ca: string | null;
  start_tls: Bool;
  enabled: Bool;
  created_at: string;
  updated_at: string;
}

export interface GroupManagersTable {
  group_id: string;
  user_id: string;
  added_at: string;
}

export interface AssetAccountsTable {
  id: string;
  asset_id: string;
  /** Label shown in the console ("maintenance", "operator") */
  name: string;
  username: string;
  kind: 'password' | 'ssh_key';
  /** The secret JSON encrypted with this row's own data key (vault/envelope.ts) */
  secret_enc: string;
  /** The data key sealed with the master key (crypto/secretbox.ts) */
  dek_sealed: string;
  secret_changed_at: string;
  created_at: string;
  updated_at: string;
}

/** A running gateway node, as other nodes reach it (broker/nodes.ts). */
export interface GatewayNodesTable {
  node: string;
  /** http(s)://host:port of its API, for other nodes. */
  url: string;
  /** Its TLS certificate (PEM), the only one the other nodes trust for it; null without TLS. */
  cert_pem: string | null;
  seen_at: string;
}

/** A one-time ticket for a watcher proxied from another node (broker/nodes.ts); 30 s. */
export interface NodeTicketsTable {
  /** SHA-256 (hex) of the token; the token itself travels once, node to node. */
  token_hash: string;
  /** The node that may redeem it (the one holding the session). */
  node: string;
  session_id: string;
  user_id: string;
  source_ip: string | null;
  expires_at: string;
}

/** A command to the gateway node holding a live session (broker/commands.ts). */
export interface SessionCommandsTable {
  id: string;
  /** The node that carries it out (remote_sessions.node). */
  node: string;
  kind: string;
  /** JSON: the command's fields. */
  payload: string;
  created_at: string;
  /** Set when the node claimed it (carried out once). */
  done_at: string | null;
}

export interface RemoteSessionsTable {
  id: string;
  user_id: string;
  username: string;
  asset_id: string;
  asset_name: string;
  site_id: string;
  site_name: string;
  account_id: string | null;
  protocol: 'ssh' | 'telnet' | 'vnc' | 'rdp';
  port: number;
  via: 'browser' | 'ssh';
  command: string | null;
  source_ip: string | null;
  state: 'pending' | 'active' | 'ended' | 'terminated' | 'failed' | 'interrupted';
  /** Machine-readable: closed, idle_timeout, max_duration, terminated, auth_failed, ... */
  end_reason: string | null;
  end_message: string | null;
  terminated_by: string | null;
  /** The gateway process that owns the live session. */
  node: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  bytes_in: number;
  bytes_out: number;
  recording_path: string | null;
  recording_sha256: string | null;
  typed_text: string | null;
  shown_text: string | null;
  /** While pending at a gate: 'approval' (live approval) or 'moderator' (watch required). */
  waiting_for: 'approval' | 'moderator' | null;
  /** The gate as JSON (broker/gates.ts StoredGate), while the session waits at it. */
  gate: string | null;
  /** A moderated live session without a moderator: paused since (null while it runs). */
  paused_since: string | null;
  /** The session ran only while a moderator watched. */
  moderated: Bool;
  /** Opened by break-glass: the user's written reason. */
  break_glass_reason: string | null;
  /** Break-glass sessions: 'pending' until signed off in the review queue, then 'reviewed'. */
  review_state: 'pending' | 'reviewed' | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  review_note: string | null;
  /** The approved access request that allowed the session (when approvals were needed). */
  access_request_id: string | null;
}

/** A live approval or rejection of a pending session (manual session approval). */
export interface SessionApprovalsTable {
  id: string;
  session_id: string;
  approver_id: string | null;
  approver_name: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  created_at: string;
}

export interface AssetHostKeysTable {
  asset_id: string;
  port: number;
  fingerprint: string;
  pinned_at: string;
  pinned_by: string;
}

export interface UserSshKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** OpenSSH one-line public key: "<type> <base64>[ <comment>]" */
  public_key: string;
  /** "SHA256:..." as `ssh-keygen -l` shows it */
  fingerprint: string;
  created_at: string;
  last_used_at: string | null;
}

export interface PolicyRulesTable {
  id: string;
  name: string;
  description: string;
  enabled: Bool;
  /** Lower first: the order rules are listed and their reasons given (the strictest still wins). */
  priority: number;
  effect: 'allow' | 'deny';
  applies_to: 'everyone' | 'employees' | 'vendors';
  /** JSON: { everyone, users: id[], groups: id[] } */
  subjects: string;
  /** JSON: { all, assets, sites, zones, tags, purdueLevels, namePatterns, safetyCritical } */
  targets: string;
  /** JSON: Protocol[] ([] = any) */
  allowed_protocols: string;
  /** JSON: Protocol[] */
  blocked_protocols: string;
  /** JSON: LoginWindow[] or null for "any time" */
  windows: string | null;
  /** IANA zone of the windows; null = the asset's site time zone */
  timezone: string | null;
  valid_from: string | null;
  valid_until: string | null;
  approvals_required: number;
  approver_group_id: string | null;
  max_session_minutes: number | null;
  idle_timeout_minutes: number | null;
  advance_notice_hours: number | null;
  file_inbound: Bool;
  file_outbound: Bool;
  clipboard_to_asset: Bool;
  clipboard_from_asset: Bool;
  watch_required: Bool;
  /** Live approvals each session needs (0 = none), from this group (null = Administrators). */
  session_approvals_required: number;
  session_approver_group_id: string | null;
  /** The rule's users may open its targets by break-glass (bypassing approvals and moderation). */
  break_glass: Bool;
  created_at: string;
  updated_at: string;
  created_by: string | null;
  updated_by: string | null;
}

/** Notifications (notify/): one queued email, sent by the background sender with retries. */
export interface EmailOutboxTable {
  id: string;
  template: string;
  /** JSON: string[] of addresses */
  recipients: string;
  subject: string;
  text_body: string;
  html_body: string;
  state: 'queued' | 'sending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: string;
  /** While state is 'sending': the claim ends then (a crashed sender's rows are taken over). */
  lease_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

/** An outbound webhook subscription; the HMAC secret is sealed (purpose notify.webhook). */
export interface WebhooksTable {
  id: string;
  name: string;
  url: string;
  /** JSON: string[] of event names, "<prefix>.*" or "*" */
  events: string;
  secret_enc: string;
  enabled: Bool;
  allow_restricted: Bool;
  last_delivery_at: string | null;
  last_delivery_state: 'delivered' | 'retrying' | 'failed' | null;
  last_delivery_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  /** The exact JSON body that is signed and sent. */
  body: string;
  state: 'queued' | 'sending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string;
  lease_until: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

/** Delivery ids (and signatures) of inbound webhooks already accepted: replays are refused. */
export interface WebhookInboundSeenTable {
  scope: string;
  key: string;
  seen_at: string;
}

/** An access request (requests/): a window of access to assets, approved by N approvers. */
export interface AccessRequestsTable {
  id: string;
  requester_id: string;
  requester_name: string;
  /** An administrator who submitted on behalf of the requester (else the requester). */
  created_by_id: string | null;
  created_by_name: string;
  purpose: string;
  ticket: string | null;
  /** JSON: Protocol[] */
  protocols: string;
  /** One-off: the window. Recurring: the series (first instant, end of the last day). */
  start_at: string;
  end_at: string;
  /** JSON: LoginWindow[] weekly windows in time_zone; null = one-off. */
  recurrence: string | null;
  time_zone: string;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'revoked' | 'cancelled';
  approvals_required: number;
  approver_group_id: string | null;
  /** The approval round in progress or last decided (0 = the request, 1.. = extensions). */
  round: number;
  /** The round whose approvals back the current window. */
  approved_round: number | null;
  /** A pending extension: the new end (one-off) or series end (recurring). */
  extension_end_at: string | null;
  /** The window end whose T-5 warning was sent. */
  warned_end_at: string | null;
  /** The window (or occurrence) start whose window_starting email was sent (migration 0009). */
  announced_start_at: string | null;
  decided_at: string | null;
  decided_by_name: string | null;
  decision_comment: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface AccessRequestAssetsTable {
  request_id: string;
  asset_id: string;
  asset_name: string;
  site_id: string;
}

export interface AccessRequestApprovalsTable {
  id: string;
  request_id: string;
  round: number;
  approver_id: string;
  approver_name: string;
  decision: 'approve' | 'deny';
  comment: string | null;
  via: 'console' | 'api' | 'itsm';
  created_at: string;
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
  audit_checkpoints: AuditCheckpointsTable;
  settings: SettingsTable;
  password_history: PasswordHistoryTable;
  mfa_totp: MfaTotpTable;
  recovery_codes: RecoveryCodesTable;
  webauthn_credentials: WebauthnCredentialsTable;
  api_tokens: ApiTokensTable;
  ldap_domains: LdapDomainsTable;
  group_managers: GroupManagersTable;
  asset_accounts: AssetAccountsTable;
  remote_sessions: RemoteSessionsTable;
  session_commands: SessionCommandsTable;
  gateway_nodes: GatewayNodesTable;
  node_tickets: NodeTicketsTable;
  session_approvals: SessionApprovalsTable;
  asset_host_keys: AssetHostKeysTable;
  user_ssh_keys: UserSshKeysTable;
  email_outbox: EmailOutboxTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_inbound_seen: WebhookInboundSeenTable;
  policy_rules: PolicyRulesTable;
  access_requests: AccessRequestsTable;
  access_request_assets: AccessRequestAssetsTable;
  access_request_approvals: AccessRequestApprovalsTable;
}
