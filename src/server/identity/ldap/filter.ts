import { FilterParser } from 'ldapts';

/** The placeholder an LDAP domain's user filter must contain. */
export const USERNAME_PLACEHOLDER = '{username}';

/**
 * Escapes a value for an LDAP search filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
 * become \2a \28 \29 \5c \00, so user input can only ever be a literal value, never a wildcard
 * or more filter. Other control characters are escaped too; other text stays UTF-8.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The domain's user filter with every {username} replaced by the escaped username. */
export function userSearchFilter(template: string, username: string): string {
  return template.split(USERNAME_PLACEHOLDER).join(escapeFilterValue(username));
}

/** The user filter matching every user (for counting them in "Test connection"). */
export function allUsersFilter(template: string): string {
  return template.split(USERNAME_PLACEHOLDER).join('*');
}

/** True when the filter (with a sample username) parses as one parenthesized LDAP filter. */
export function isValidFilter(template: string): boolean {
  const f = userSearchFilter(template, 'x').trim();
  if (!f.startsWith('(') || !f.endsWith(')')) return false;
  // Literal parentheses in values are written \28 \29, so every bare one is syntax: the first
  // must close only at the very end (ldapts' parser forgives a missing one).
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '(') depth++;
    else if (f[i] === ')' && --depth === 0 && i !== f.length - 1) return false;
    if (depth < 0) return false;
  }
  if (depth !== 0) return false;
  try {
    FilterParser.parseString(f);
    return true;
  } catch {
    return false;
  }
}

/**
 * Comparable form of a DN: lower case, no spaces around the separators. Good enough to match a
 * configured group DN against what the directory returns (which is how admins copy them).
 */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*(?<!\\)([,=+])\s*/g, '$1')
    .toLowerCase();
}

/** The value of a DN's first RDN ("ot-admins" for "cn=ot-admins,ou=groups,..."). */
export function firstRdnValue(dn: string): string {
  const first = dn.split(/(?<!\\),/)[0] ?? '';
  const eq = first.indexOf('=');
  return (eq >= 0 ? first.slice(eq + 1) : first).trim().toLowerCase();
}
