/**
 * Notifications: email (SMTP settings, durable outbox, templates) and webhooks (outbound signed
 * deliveries, inbound verification). See docs/notify.md.
 *
 *   await gw.notify.email('request_created', approverEmails, { requestId, requester, ... }, { ex: tx });
 *   await gw.notify.emit('request.approved', { requestId, ... }, { ex: tx });
 *   const r = await verifyInboundWebhook(rawBody, req.headers, secret, Date.now(), { replay: webhookReplayGuard(db, 'itsm') });
 */
export { administratorEmails, backoffMs, EMAIL_RETRY, type EnqueueOptions, listOutbox, Notifier, type OutboxEmail, type NotifierOptions, type RetryPolicy, type RunReport, userEmails, WEBHOOK_RETRY } from './notifier.js';
export { assertInboundWebhook, DEFAULT_REPLAY_WINDOW_SECONDS, type InboundFailure, type InboundResult, type ReplayGuard, verifyInboundWebhook, webhookReplayGuard } from './inbound.js';
export { HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, signPayload, signaturesEqual } from './signing.js';
export { EMAIL_TEMPLATES, type EmailTemplate, type EmailTemplates, escapeHtml, renderEmail, type Rendered } from './templates.js';
export type { BreakGlassData, Person, RequestCreatedData, RequestDecidedData, SessionPendingData, WindowEndingData, WindowStartingData } from './templates.js';
export { eventMatches, WEBHOOK_EVENTS, type WebhookEnvelope, type WebhookEvent } from './webhooks.js';
