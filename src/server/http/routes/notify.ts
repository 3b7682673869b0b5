import { z } from 'zod';
import { listOutbox } from '../../notify/notifier.js';
import { sendTestEmail, sendTestWebhook, smtpTestSchema } from '../../notify/probe.js';
import { getSmtpSettings, putSmtpSettings, smtpSettingsPutSchema } from '../../notify/smtp-settings.js';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, updateWebhook, webhookCreateSchema, webhookUpdateSchema } from '../../notify/webhooks.js';
import { packageVersion } from '../../version.js';
import { idParams, type RouteDeps, type Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

const outboxQuery = z.strictObject({
  state: z.enum(['queued', 'sending', 'sent', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const deliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** Notifications (notify/): SMTP settings and test email, the email outbox, outbound webhooks. Secrets are write-only. */
export function notifyRoutes(r: Router, deps: Pick<RouteDeps, 'config'>) {
  const version = packageVersion();
  r.route({ method: 'GET', url: '/api/v1/settings/smtp', tag: 'notify', summary: 'Email (SMTP) settings; the password is never returned (hasPassword)', access: ADMIN,
    handler: ({ ctx }) => getSmtpSettings(ctx.db) });
  r.route({ method: 'PUT', url: '/api/v1/settings/smtp', tag: 'notify', summary: 'Replace the SMTP settings (audited); password is write-only: absent keeps it, null removes it', access: ADMIN, body: smtpSettingsPutSchema,
    handler: ({ ctx, body }) => putSmtpSettings(ctx, body) });
  r.route({ method: 'POST', url: '/api/v1/settings/smtp/test', tag: 'notify', summary: 'Send a test email with the saved settings; answers what the SMTP server said (audited)', access: ADMIN, body: smtpTestSchema,
    handler: ({ ctx, body }) => sendTestEmail(ctx, body.to, { consoleUrl: deps.config.publicUrl }) });
  r.route({ method: 'GET', url: '/api/v1/notify/emails', tag: 'notify', summary: 'The newest emails of the outbox: sent, waiting (with the next attempt) and failed (with the reason)', access: ADMIN, query: outboxQuery,
    handler: ({ ctx, query }) => listOutbox(ctx.db, query) });

  r.route({ method: 'GET', url: '/api/v1/webhooks', tag: 'notify', summary: 'Outbound webhooks (never their secrets)', access: ADMIN,
    handler: ({ ctx }) => listWebhooks(ctx.db) });
  r.route({ method: 'POST', url: '/api/v1/webhooks', tag: 'notify', summary: 'Create an outbound webhook (secret is write-only; http(s) only; loopback, link-local and metadata addresses need allowRestricted)', access: ADMIN, body: webhookCreateSchema, status: 201,
    handler: ({ ctx, body }) => createWebhook(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/webhooks/:id', tag: 'notify', summary: 'Get an outbound webhook', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => getWebhook(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/webhooks/:id', tag: 'notify', summary: 'Update an outbound webhook', access: ADMIN, params: idParams, body: webhookUpdateSchema,
    handler: ({ ctx, params, body }) => updateWebhook(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/webhooks/:id', tag: 'notify', summary: 'Delete an outbound webhook and its queued deliveries', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteWebhook(ctx, params.id) });
  r.route({ method: 'POST', url: '/api/v1/webhooks/:id/test', tag: 'notify', summary: 'Send a signed webhook.test event now and report the answer (audited)', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => sendTestWebhook(ctx, params.id, { version }) });
  r.route({ method: 'GET', url: '/api/v1/webhooks/:id/deliveries', tag: 'notify', summary: 'The newest deliveries of a webhook', access: ADMIN, params: idParams, query: deliveriesQuery,
    handler: ({ ctx, params, query }) => listDeliveries(ctx.db, params.id, query.limit) });
}
