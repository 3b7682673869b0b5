/** The notification API's shapes (src/server/notify/), as the console reads them. */
export type { SmtpSecurity, SmtpSettings } from '../../server/notify/smtp-settings';
export type { ProbeResult } from '../../server/notify/probe';
export type { OutboxEmail } from '../../server/notify/notifier';
export type { Webhook } from '../../server/notify/webhooks';

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
  'request.window_started',
  'session.*',
  'session.pending',
  'session.approved',
  'session.rejected',
  'session.started',
  'session.ended',
  'session.terminated',
  'break_glass.used',
] as const;
