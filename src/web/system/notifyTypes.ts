/** The notification API's shapes (src/server/notify/), as the console reads them. */
export type SmtpSecurity = 'none' | 'starttls' | 'tls';

export interface SmtpSettings {
  enabled: boolean;
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  fromAddress: string;
  fromName: string;
  acceptSelfSigned: boolean;
  heloName: string;
  /** The password is write-only: only whether one is stored. */
  hasPassword: boolean;
  updatedAt: string | null;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
  status?: number | null;
}

export interface OutboxEmail {
  id: string;
  template: string;
  recipients: string[];
  subject: string;
  state: 'queued' | 'sending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: string[];
  hasSecret: boolean;
  enabled: boolean;
  allowRestricted: boolean;
  lastDelivery: { at: string; state: 'delivered' | 'retrying' | 'failed'; error: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

/** Mirrors WEBHOOK_EVENTS in src/server/notify/webhooks.ts. */
export const WEBHOOK_EVENT_OPTIONS = [
  '*',
  'request.*',
  'request.created',
  'request.approved',
  'request.denied',
  'request.expired',
  'request.revoked',
  'request.cancelled',
  'request.extended',
  'session.*',
  'session.pending',
  'session.approved',
  'session.rejected',
  'session.started',
  'session.ended',
  'session.terminated',
  'break_glass.used',
] as const;
