/**
 * Shapes of the gateway's /api/v1 JSON (camelCase). The answers' types are the server's own, imported
 * type-only (erased from the bundle: nothing of src/server reaches the browser); what is declared here
 * is the console's: request bodies, UI lists and labels, and answers the server does not name a type for.
 */
import type { sessionView } from '../../server/http/routes/auth';
import type { ReachableAsset } from '../../server/access/reports';
import type { Page } from '../../server/db/paging';
import type { Group, GroupMember } from '../../server/identity/groups';
import type { ConnectionTest } from '../../server/identity/ldap/test-connection';
import type { GroupMapping, LdapDomain } from '../../server/identity/ldap/domains';
import type { MfaStatus, startTotpEnrollment } from '../../server/identity/mfa/service';
import type { Role } from '../../server/identity/roles';
import type { SessionInfo, SessionStage } from '../../server/identity/sessions';
import type { LoginMessage, OversightSettings, SecuritySettings } from '../../server/identity/settings';
import type { ApiToken } from '../../server/identity/tokens';
import type { CreatedUser, User } from '../../server/identity/users';
import type { Vendor } from '../../server/identity/vendors';
import type { ImportResult } from '../../server/inventory/asset-import';
import type { AccessMethod, Asset, LoginWindow, Protocol } from '../../server/inventory/assets';
import type { Site } from '../../server/inventory/sites';
import type { Zone } from '../../server/inventory/zones';
import type { SessionRecord } from '../../server/broker/records';
import type { LiveSessionView, ParticipantEvent, SessionKind, SessionState } from '../../server/broker/types';
import type { AssetAccount } from '../../server/vault/accounts';
import type { AccessRequest, RequestState } from '../../server/requests/model';
import type { AuditEvent } from '../../server/audit/query';
import type { AuditVerifyResult } from '../../server/audit/verify';
import type { CheckpointReport } from '../../server/audit/checkpoints';

export type {
  /** One audit event as GET /audit lists it (newest first). */
  AuditEvent,
  /** GET /audit/verify: the hash chain, and (`checkpoints`) its signed checkpoints. */
  AuditVerifyResult,
  CheckpointReport,
  /** An access request as GET /requests, /requests/inbox and /requests/:id answer it (docs/requests.md). */
  AccessRequest,
  AccessMethod,
  ApiToken,
  Asset,
  /** A vault account of an asset (GET /assets/:id/accounts): never the secret, only when it changed. */
  AssetAccount,
  /** What the terminal and watch WebSockets say about the session ('opened'). */
  LiveSessionView,
  /** The JSON (text) frames of the terminal and watch WebSockets besides 'opened'. */
  ParticipantEvent,
  /** A brokered session as GET /sessions lists it. */
  SessionRecord,
  SessionState,
  /** 'terminal' (SSH, Telnet) or 'display' (VNC, RDP). */
  SessionKind,
  ConnectionTest,
  CreatedUser,
  Group,
  GroupMapping,
  GroupMember,
  ImportResult,
  LdapDomain,
  LoginMessage,
  OversightSettings,
  LoginWindow,
  MfaStatus,
  Page,
  Protocol,
  ReachableAsset,
  RequestState,
  Role,
  SecuritySettings,
  /** A console session as GET /me/sessions and /users/:id/sessions list it. */
  SessionInfo,
  Site,
  User,
  Vendor,
  Zone,
};

export const ROLES: readonly Role[] = ['Administrator', 'Operator', 'Client'];

/** The answer of the sign-in calls and of GET /auth/session (`sessionView` in the server's auth routes). */
type ServerSessionView = Awaited<ReturnType<typeof sessionView>>;
export type Me = ServerSessionView['user'];
export type SignInStage = SessionStage;
export type MfaMethod = 'totp' | 'webauthn' | 'recovery';
/** stage 'mfa': a second factor must follow (one of mfaMethods); 'enroll': one must be enrolled first. */
export type SessionView = Omit<ServerSessionView, 'mfaMethods'> & { mfaMethods: MfaMethod[] };

export type StreamQuality = Site['streamQuality'];

export const PROTOCOLS: readonly Protocol[] = ['ssh', 'telnet', 'vnc', 'rdp', 'tcp'];
export const DEFAULT_PORTS: Record<Protocol, number | null> = { ssh: 22, telnet: 23, vnc: 5900, rdp: 3389, tcp: null };
export const PROTOCOL_LABELS: Record<Protocol, string> = {
  ssh: 'SSH',
  telnet: 'Telnet',
  vnc: 'VNC',
  rdp: 'RDP',
  tcp: 'TCP tunnel',
};

export type Day = LoginWindow['days'][number];
export const DAYS: readonly Day[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export type AssetState = Asset['state'];

/** Exactly the fields POST /assets accepts (the server rejects unknown fields). */
export interface AssetInput {
  name: string;
  siteId: string;
  zoneId?: string | null;
  purdueLevel?: number;
  host: string;
  accessMethods: { protocol: Protocol; port?: number }[];
  tags?: string[];
  safetyCritical?: boolean;
  loginTimes?: LoginWindow[] | null;
  vendor?: string;
  model?: string;
  firmware?: string;
  description?: string;
}

export type UserStatus = User['status'];
export const USER_STATUSES: readonly UserStatus[] = ['active', 'disabled', 'locked', 'expired'];
export type Affiliation = User['affiliation'];

export interface UserInput {
  username?: string;
  displayName?: string;
  email?: string;
  role?: Role;
  affiliation?: Affiliation;
  vendorId?: string | null;
  expiresAt?: string | null;
  otpRequired?: boolean;
}


/** Purdue reference model levels (ISA-95 / IEC 62443 zoning). */
export const PURDUE_LEVELS: readonly { value: number; label: string; short: string }[] = [
  { value: 0, short: 'L0', label: 'Level 0 – Physical process (sensors, actuators)' },
  { value: 1, short: 'L1', label: 'Level 1 – Basic control (PLC, RTU, safety)' },
  { value: 2, short: 'L2', label: 'Level 2 – Supervisory control (HMI, SCADA)' },
  { value: 3, short: 'L3', label: 'Level 3 – Site operations (historian, MES)' },
  { value: 3.5, short: 'L3.5', label: 'Level 3.5 – OT DMZ' },
  { value: 4, short: 'L4', label: 'Level 4 – Business logistics (site IT)' },
  { value: 5, short: 'L5', label: 'Level 5 – Enterprise' },
];

export function purdueShort(level: number): string {
  return PURDUE_LEVELS.find((l) => l.value === level)?.short ?? `L${level}`;
}
export function purdueLabel(level: number): string {
  return PURDUE_LEVELS.find((l) => l.value === level)?.label ?? `Level ${level}`;
}

/** IEC 62443-3-3 target security levels. */
export const SECURITY_LEVELS: readonly { value: number; label: string }[] = [
  { value: 1, label: 'SL1 – casual or coincidental violation' },
  { value: 2, label: 'SL2 – intentional, simple means' },
  { value: 3, label: 'SL3 – intentional, sophisticated means' },
  { value: 4, label: 'SL4 – sophisticated means, extended resources' },
];

export const ROLE_COLOR: Record<Role, string> = { Administrator: 'red', Operator: 'blue', Client: 'gray' };

/** GET /me */
export interface MyProfile {
  user: User;
  mfa: MfaStatus;
  secondFactorRequired: boolean;
}

/** POST /me/mfa/totp/enroll: secret, otpauth URI, and the QR code as a data: PNG URL. */
export type TotpEnrollment = Awaited<ReturnType<typeof startTotpEnrollment>>;

/** Confirming a second factor: recovery codes on first enrollment; a stepped-up session when it was part of a sign-in. */
export interface EnrollmentResult {
  recoveryCodes?: string[];
  csrfToken?: string;
  stage?: SignInStage;
}

/**
 * GET /me/mfa/webauthn/keys (items). The server's KeyView (identity/mfa/webauthn.ts), restated: that
 * module does not type-check under this project's noUnusedLocals (an unused import), so it stays out.
 */
export interface WebauthnKey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export type GroupKind = Group['kind'];
export const GROUP_KINDS: readonly { value: GroupKind; label: string; help: string }[] = [
  { value: 'permission', label: 'Permission', help: 'Members receive the asset grants given to the group' },
  { value: 'user_management', label: 'User management', help: 'Delegates the administration of users' },
];


/** GET /sessions items and GET /sessions/:id: the record plus who watches it right now (live ones). */
/** mayWatch: on live sessions for staff, whether live oversight lets you watch it. */
export type BrokeredSession = SessionRecord & { watchers: Watcher[]; mayWatch?: boolean };
export type Watcher = LiveSessionView['watchers'][number];

/** A text frame of the terminal / watch WebSocket. */
export type SessionSocketMessage =
  | ParticipantEvent
  | { type: 'opened'; session: LiveSessionView; moderator?: boolean }
  | { type: 'ended'; state: SessionState; reason: string; message: string; sessionId?: string; breakGlassAvailable?: boolean }
  /** The session waits at a gate: a live approval, or a moderator (watch required). */
  | { type: 'waiting'; sessionId: string; waitingFor: 'approval' | 'moderator'; message: string }
  /** Break-glass: the gateway asks for the reason. */
  | { type: 'break_glass'; message: string }
  | { type: 'error'; message: string };

/** Protocols the browser opens today: terminals (SSH, Telnet) and displays (VNC, RDP); TCP tunnels are "coming soon". */
export type SessionProtocol = LiveSessionView['protocol'];
export const SESSION_PROTOCOLS: readonly Protocol[] = ['ssh', 'telnet', 'vnc', 'rdp'];
export const DISPLAY_PROTOCOLS: readonly Protocol[] = ['vnc', 'rdp'];

export const SESSION_STATE_COLOR: Record<SessionState, string> = {
  pending: 'yellow',
  active: 'teal',
  ended: 'gray',
  terminated: 'red',
  failed: 'orange',
  interrupted: 'grape',
};

/** GET /sessions/:id/recording/verify (the route answers an inline shape). */
export type RecordingVerification =
  | { ok: true; interrupted: boolean; sha256: string; bytes: number; keyId: string }
  | { ok: false; reason: string; message: string };

/** GET /assets/:id/host-keys items (the route answers an inline shape). */
export interface PinnedHostKey {
  port: number;
  fingerprint: string;
  pinnedAt: string;
  pinnedBy: string;
}

/** Exactly the fields POST /assets/:id/accounts accepts. */
export type AccountInput =
  | { name: string; username: string; kind: 'password'; password: string }
  | { name: string; username: string; kind: 'ssh_key'; privateKey: string; passphrase?: string };

/** Exactly the fields PATCH /assets/:id/accounts/:accountId accepts (a secret only when it is replaced). */
export interface AccountUpdate {
  name?: string;
  username?: string;
  password?: string;
  privateKey?: string;
  passphrase?: string | null;
}
