import { isIP } from 'node:net';
import { z } from 'zod';

/** Shared zod building blocks for domain inputs. Unknown fields are always rejected (strictObject). */
export const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

export const description = z.string().max(4000, 'must be at most 4000 characters');

export const id = z.uuid('must be an id (UUID)');

const timezones = new Set(Intl.supportedValuesOf('timeZone'));
timezones.add('UTC');
export const timezone = z.string().refine((tz) => timezones.has(tz), 'must be an IANA time zone such as Europe/Berlin');

export const PURDUE_LEVELS = [0, 1, 2, 3, 3.5, 4, 5] as const;
export const purdueLevel = z
  .number()
  .refine((n) => (PURDUE_LEVELS as readonly number[]).includes(n), 'must be one of 0, 1, 2, 3, 3.5 (OT DMZ), 4, 5');

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const host = z
  .string()
  .trim()
  .refine((h) => isIP(h) !== 0 || HOSTNAME.test(h), 'must be an IPv4/IPv6 address or a DNS host name');

export const tag = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'tags are 1-64 letters, digits, and _ . : - (starting with a letter or digit)');

/** Calendar date (YYYY-MM-DD) or full ISO timestamp; normalized to an ISO timestamp. */
export const isoDateTime = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be a date (YYYY-MM-DD) or an ISO 8601 timestamp')
  .transform((s) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s).toISOString());

export const isoDate = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be a date (YYYY-MM-DD)');

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(2000).optional(),
  format: z.enum(['json', 'csv']).default('json'),
};

/** Query-string booleans: true/false/yes/no/1/0. */
export const queryBool = z
  .enum(['true', 'false', 'yes', 'no', '1', '0'])
  .transform((v) => v === 'true' || v === 'yes' || v === '1');

/** Formats a zod error as readable field errors with JSON-pointer paths. */
export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => {
    const path = `/${i.path.map(String).join('/')}`;
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field(s): ${i.keys.join(', ')}`;
    return { path: path === '/' ? '' : path, message };
  });
}
