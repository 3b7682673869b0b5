import {
  getLoginMessage,
  getOversightSettings,
  getSecuritySettings,
  loginMessageUpdateSchema,
  oversightSettingsUpdateSchema,
  securitySettingsUpdateSchema,
  updateLoginMessage,
  updateOversightSettings,
  updateSecuritySettings,
} from '../../identity/settings.js';
import type { Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

export function settingsRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/settings/security', tag: 'settings', summary: 'Security settings (passwords, lockout, inactivity, second factor)', access: ADMIN,
    handler: ({ ctx }) => getSecuritySettings(ctx.db) });
  r.route({ method: 'PATCH', url: '/api/v1/settings/security', tag: 'settings', summary: 'Change security settings (audited)', access: ADMIN, body: securitySettingsUpdateSchema.strict(),
    handler: ({ ctx, body }) => updateSecuritySettings(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/settings/login-message', tag: 'settings', summary: 'The login message (system-use notification)', access: ADMIN,
    handler: ({ ctx }) => getLoginMessage(ctx.db) });
  r.route({ method: 'PATCH', url: '/api/v1/settings/login-message', tag: 'settings', summary: 'Change the login message (audited)', access: ADMIN, body: loginMessageUpdateSchema.strict(),
    handler: ({ ctx, body }) => updateLoginMessage(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/settings/oversight', tag: 'settings', summary: 'Live oversight: which Operators may watch and moderate live sessions (all, granted = on assets their grants reach, none)', access: ADMIN,
    handler: ({ ctx }) => getOversightSettings(ctx.db) });
  r.route({ method: 'PATCH', url: '/api/v1/settings/oversight', tag: 'settings', summary: 'Change live oversight (audited)', access: ADMIN, body: oversightSettingsUpdateSchema.strict(),
    handler: ({ ctx, body }) => updateOversightSettings(ctx, body) });
}
