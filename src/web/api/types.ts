/** Shapes of the gateway's /api/v1 JSON (camelCase). Kept in step with src/server by hand. */

export type Role = 'Administrator' | 'Operator' | 'Client';
export const ROLES: readonly Role[] = ['Administrator', 'Operator', 'Client'];

export interface Me {
  id: string;
  username: string;
  displayName: string;
  role: Role;
}

export type SignInStage = 'complete' | 'mfa' | 'enroll';
export type MfaMethod = 'totp' | 'webauthn' | 'recovery';

/** The answer of the sign-in calls and of GET /auth/session. */
export interface SessionInfo {
  user: Me;
  csrfToken: string;
  /** 'mfa': a second factor must follow; 'enroll': one must be enrolled first. Older gateways: absent. */
  stage?: SignInStage;
  mfaMethods?: MfaMethod[];
  mustChangePassword: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type StreamQuality = 'low' | 'medium' | 'high';

export interface Site {
  id: string;
  name: string;
  description: string;
  timezone: string;
  streamQuality: StreamQuality;
  maxConnections: number;
  createdAt: string;
  updatedAt: string;
}

export interface Zone {
  id: string;
  siteId: string;
  siteName: string;
  name: string;
  purdueLevel: number;
  targetSecurityLevel: number;
  description: string;
  createdAt?: string;
  updatedAt?: string;
}

export const PROTOCOLS = ['ssh', 'telnet', 'vnc', 'rdp', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const DEFAULT_PORTS: Record<Protocol, number | null> = { ssh: 22, telnet: 23, vnc: 5900, rdp: 3389, tcp: null };
export const PROTOCOL_LABELS: Record<Protocol, string> = {
  ssh: 'SSH',
  telnet: 'Telnet',
  vnc: 'VNC',
  rdp: 'RDP',
  tcp: 'TCP tunnel',
};

export interface AccessMethod {
  protocol: Protocol;
  port: number;
  options: Record<string, string | number | boolean>;
}

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

export interface LoginWindow {
  days: Day[];
  start: string;
  end: string;
}

export type AssetState = 'active' | 'imported';

export interface Asset {
  id: string;
  name: string;
  siteId: string;
  siteName: string;
  zoneId: string | null;
  zoneName: string | null;
  purdueLevel: number;
  host: string;
  accessMethods: AccessMethod[];
  tags: string[];
  safetyCritical: boolean;
  loginTimes: LoginWindow[] | null;
  vendor: string;
  model: string;
  firmware: string;
  description: string;
  state: AssetState;
  createdAt: string;
  updatedAt: string;
}

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

export interface ImportResult {
  imported: number;
  assets: { id: string; name: string }[];
}

export type UserStatus = 'active' | 'disabled' | 'locked' | 'expired';
export const USER_STATUSES: readonly UserStatus[] = ['active', 'disabled', 'locked', 'expired'];
export type Affiliation = 'employee' | 'vendor';

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string;
  role: Role;
  type: 'local' | 'ldap';
  affiliation: Affiliation;
  vendorId: string | null;
  vendorName: string | null;
  expiresAt: string | null;
  otpRequired: boolean;
  status: UserStatus;
  mustChangePassword: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

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

export interface UserCreated {
  user: User;
  oneTimePassword?: string;
}

export interface Vendor {
  id: string;
  name: string;
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

/** GET /auth/login-message: the system-use notification (IEC 62443-3-3 SR 1.12). */
export interface LoginMessage {
  enabled: boolean;
  title: string;
  text: string;
}

export interface MfaStatus {
  totp: boolean;
  totpPending: boolean;
  webauthnKeys: number;
  recoveryCodesLeft: number;
}

/** GET /me */
export interface MyProfile {
  user: User;
  mfa: MfaStatus;
  secondFactorRequired: boolean;
}

/** POST /me/mfa/totp/enroll */
export interface TotpEnrollment {
  secret: string;
  otpauthUri: string;
  /** data: PNG URL */
  qrCode: string;
}

/** Confirming a second factor: recovery codes on first enrollment; a stepped-up session when it was part of a sign-in. */
export interface EnrollmentResult {
  recoveryCodes?: string[];
  csrfToken?: string;
  stage?: SignInStage;
}

export interface WebauthnKey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  transports?: string[];
}

export interface ConsoleSessionRow {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  sourceIp: string | null;
  userAgent: string;
  stage: SignInStage;
  secondFactor: string | null;
  current: boolean;
}

export type GroupKind = 'permission' | 'user_management';
export const GROUP_KINDS: readonly { value: GroupKind; label: string; help: string }[] = [
  { value: 'permission', label: 'Permission', help: 'Members receive the asset grants given to the group' },
  { value: 'user_management', label: 'User management', help: 'Delegates the administration of users' },
];

export interface Group {
  id: string;
  name: string;
  kind: GroupKind;
  description: string;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface GroupMember {
  userId: string;
  username: string;
  displayName: string;
  addedAt: string;
}

export interface SecuritySettings {
  minPasswordLength: number;
  enforceCharacterClasses: boolean;
  blockCommonPasswords: boolean;
  passwordExpirationDays: number;
  passwordHistory: number;
  lockoutAttempts: number;
  lockoutMinutes: number;
  disableInactiveDays: number;
  forcePasswordChange: boolean;
  otpRequiredGlobal: boolean;
  otpRequiredRoles: Role[];
  /** null: the gateway's configured default (15 minutes / 12 hours). */
  sessionIdleMinutes: number | null;
  sessionLifetimeHours: number | null;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  owner: { id: string; username: string };
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
  createdAt: string;
  state: 'active' | 'expired' | 'revoked';
}

export interface GroupMapping {
  group: string;
  role?: Role;
  groupId?: string;
}

export interface LdapDomain {
  id: string;
  name: string;
  url: string;
  bindDn: string;
  hasBindPassword: boolean;
  baseDn: string;
  userFilter: string;
  usernameAttribute: string;
  groupMappings: GroupMapping[];
  tlsCa: string | null;
  startTls: boolean;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ConnectionTest {
  ok: boolean;
  message: string;
  usersFound?: number;
}
