import { createLdapDomain, deleteLdapDomain, getLdapDomain, ldapDomainCreateSchema, ldapDomainUpdateSchema, listLdapDomains, updateLdapDomain } from '../../identity/ldap/domains.js';
import { testConnection } from '../../identity/ldap/test-connection.js';
import { idParams, type Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

/** LDAP / Active Directory domains (identity/ldap). The bind password is write-only. */
export function ldapRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/ldap-domains', tag: 'ldap', summary: 'List LDAP domains', access: ADMIN,
    handler: ({ ctx }) => listLdapDomains(ctx.db) });
  r.route({ method: 'POST', url: '/api/v1/ldap-domains', tag: 'ldap', summary: 'Create an LDAP domain (bindPassword is write-only)', access: ADMIN, body: ldapDomainCreateSchema, status: 201,
    handler: ({ ctx, body }) => createLdapDomain(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/ldap-domains/:id', tag: 'ldap', summary: 'Get an LDAP domain', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => getLdapDomain(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/ldap-domains/:id', tag: 'ldap', summary: 'Update an LDAP domain; changing url, bindDn, startTls or tlsCa needs bindPassword again', access: ADMIN, params: idParams, body: ldapDomainUpdateSchema,
    handler: ({ ctx, params, body }) => updateLdapDomain(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/ldap-domains/:id', tag: 'ldap', summary: 'Delete an LDAP domain without users', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteLdapDomain(ctx, params.id) });
  r.route({ method: 'POST', url: '/api/v1/ldap-domains/:id/test', tag: 'ldap', summary: 'Test connection: service bind and count the users under the base DN', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => testConnection(ctx, params.id) });
}
