import { z } from 'zod';
import { reachableAssets } from '../../access/reports.js';
import { addManager, addMember, createGroup, listManagers, managedUsers, removeManager, deleteGroup, getGroup, groupCreateSchema, groupFilterSchema, groupUpdateSchema, listGroups, listMembers, memberAddSchema, removeMember, updateGroup } from '../../identity/groups.js';
import { DomainError } from '../../errors.js';
import { resetMfa } from '../../identity/mfa/service.js';
import { listConsoleSessions, revokeAllSessions } from '../../identity/sessions.js';
import { createUser, deleteUser, getUser, listUsers, resetPassword, updateUser, userCreateSchema, userCsvRow, userFilterSchema, userUpdateSchema } from '../../identity/users.js';
import { createVendor, deleteVendor, getVendor, listVendors, updateVendor, vendorCreateSchema, vendorCsvRow, vendorFilterSchema, vendorUpdateSchema } from '../../identity/vendors.js';
import { pageQuery } from '../../validation.js';
import { sendCsv } from '../csv.js';
import { answerList } from '../list.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;
/** Administrators, or managers of a user-management group holding the target user. */
const USER_ADMIN = { roles: ADMIN, delegated: 'user-management' } as const;
const USER_READ = { roles: STAFF, delegated: 'user-management' } as const;
const target = (p: { id: string }) => p.id;
/** What a delegated manager may change on a member (no role, affiliation or expiry changes). */
const DELEGATED_FIELDS = new Set(['status', 'mustChangePassword', 'displayName', 'email']);
const format = z.strictObject({ format: z.enum(['json', 'csv']).default('json') });

export function identityRoutes(r: Router) {
  // Users
  r.route({ method: 'GET', url: '/api/v1/users', tag: 'users', summary: 'List users', access: STAFF, query: userFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listUsers(ctx.db, query, p), { name: 'users', row: userCsvRow }) });
  r.route({ method: 'POST', url: '/api/v1/users', tag: 'users', summary: 'Create a user (returns a one-time password when none is given)', access: ADMIN, body: userCreateSchema, status: 201,
    handler: ({ ctx, body }) => createUser(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/users/:id', tag: 'users', summary: 'Get a user', access: USER_READ, delegatedTarget: target, params: idParams,
    handler: ({ ctx, params }) => getUser(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/users/:id', tag: 'users', summary: 'Update a user; status active/disabled enables, disables or unlocks', access: USER_ADMIN, delegatedTarget: target, params: idParams, body: userUpdateSchema,
    handler: ({ ctx, params, body, req }) => {
      if (req.auth!.session.user.role !== 'Administrator') {
        const extra = Object.keys(body).filter((k) => !DELEGATED_FIELDS.has(k));
        if (extra.length) throw new DomainError('forbidden', `as a user-management group manager you may change ${[...DELEGATED_FIELDS].join(', ')}; not ${extra.join(', ')}`);
      }
      return updateUser(ctx, params.id, body);
    } });
  r.route({ method: 'DELETE', url: '/api/v1/users/:id', tag: 'users', summary: 'Delete a user', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteUser(ctx, params.id) });
  r.route({ method: 'POST', url: '/api/v1/users/:id/reset-password', tag: 'users', summary: 'Reset a password to a new one-time password (changed at next login)', access: USER_ADMIN, delegatedTarget: target, params: idParams,
    handler: ({ ctx, params }) => resetPassword(ctx, params.id) });
  r.route({ method: 'POST', url: '/api/v1/users/:id/mfa/reset', tag: 'users', summary: 'Remove every second factor of a user (they enroll again)', access: USER_ADMIN, delegatedTarget: target, params: idParams,
    handler: async ({ ctx, params }) => {
      const u = await getUser(ctx.db, params.id);
      await resetMfa(ctx, { id: u.id, username: u.username });
    } });
  r.route({ method: 'GET', url: '/api/v1/users/:id/sessions', tag: 'users', summary: "A user's console sessions", access: USER_ADMIN, delegatedTarget: target, params: idParams,
    handler: async ({ ctx, params }) => {
      await getUser(ctx.db, params.id);
      return { items: await listConsoleSessions(ctx.db, params.id) };
    } });
  r.route({ method: 'DELETE', url: '/api/v1/users/:id/sessions', tag: 'users', summary: "End all of a user's console sessions", access: USER_ADMIN, delegatedTarget: target, params: idParams,
    handler: async ({ ctx, params }) => ({ ended: await revokeAllSessions(ctx.db, ctx.actor, await getUser(ctx.db, params.id)) }) });
  r.route({ method: 'GET', url: '/api/v1/users/:id/reachable-assets', tag: 'reports', summary: 'Report: which assets can this user reach, and through which grants', access: STAFF, params: idParams, query: format,
    handler: async ({ ctx, params, query }, reply) => {
      const rep = await reachableAssets(ctx.db, params.id);
      if (query.format === 'csv') {
        return sendCsv(reply, `reachable-${rep.user.username}`, rep.assets.map((a) => ({ asset: a.name, site: a.siteName, zone: a.zoneName ?? '', purdue_level: a.purdueLevel, host: a.host, protocols: a.protocols.join(';'), safety_critical: a.safetyCritical ? 'yes' : 'no', via: a.via.join('; ') })));
      }
      return rep;
    } });

  // Vendor companies
  r.route({ method: 'GET', url: '/api/v1/vendors', tag: 'vendors', summary: 'List vendor companies', access: STAFF, query: vendorFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listVendors(ctx.db, query, p), { name: 'vendors', row: vendorCsvRow }) });
  r.route({ method: 'POST', url: '/api/v1/vendors', tag: 'vendors', summary: 'Create a vendor company', access: ADMIN, body: vendorCreateSchema, status: 201,
    handler: ({ ctx, body }) => createVendor(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/vendors/:id', tag: 'vendors', summary: 'Get a vendor company', access: STAFF, params: idParams,
    handler: ({ ctx, params }) => getVendor(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/vendors/:id', tag: 'vendors', summary: 'Update a vendor company', access: ADMIN, params: idParams, body: vendorUpdateSchema,
    handler: ({ ctx, params, body }) => updateVendor(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/vendors/:id', tag: 'vendors', summary: 'Delete a vendor company without users', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteVendor(ctx, params.id) });

  // Groups
  r.route({ method: 'GET', url: '/api/v1/groups', tag: 'groups', summary: 'List groups', access: STAFF, query: groupFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listGroups(ctx.db, query, p), { name: 'groups', row: (g) => ({ name: g.name, kind: g.kind, members: g.memberCount, description: g.description }) }) });
  r.route({ method: 'POST', url: '/api/v1/groups', tag: 'groups', summary: 'Create a group (permission or user_management)', access: ADMIN, body: groupCreateSchema, status: 201,
    handler: ({ ctx, body }) => createGroup(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/groups/:id', tag: 'groups', summary: 'Get a group with its members', access: STAFF, params: idParams,
    handler: async ({ ctx, params }) => ({ ...(await getGroup(ctx.db, params.id)), members: await listMembers(ctx.db, params.id), managers: await listManagers(ctx.db, params.id) }) });
  r.route({ method: 'PATCH', url: '/api/v1/groups/:id', tag: 'groups', summary: 'Update a group', access: ADMIN, params: idParams, body: groupUpdateSchema,
    handler: ({ ctx, params, body }) => updateGroup(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/groups/:id', tag: 'groups', summary: 'Delete a group (its grants go with it)', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteGroup(ctx, params.id) });
  r.route({ method: 'POST', url: '/api/v1/groups/:id/members', tag: 'groups', summary: 'Add a member', access: ADMIN, params: idParams, body: memberAddSchema, status: 201,
    handler: async ({ ctx, params, body }) => ({ members: await addMember(ctx, params.id, body.userId) }) });
  r.route({ method: 'DELETE', url: '/api/v1/groups/:id/members/:userId', tag: 'groups', summary: 'Remove a member', access: ADMIN,
    params: z.strictObject({ id: z.uuid('must be an id (UUID)'), userId: z.uuid('must be an id (UUID)') }),
    handler: ({ ctx, params }) => removeMember(ctx, params.id, params.userId) });
  r.route({ method: 'POST', url: '/api/v1/groups/:id/managers', tag: 'groups', summary: 'Make a user manager of a user-management group (delegated user administration)', access: ADMIN, params: idParams, body: memberAddSchema, status: 201,
    handler: async ({ ctx, params, body }) => ({ managers: await addManager(ctx, params.id, body.userId) }) });
  r.route({ method: 'DELETE', url: '/api/v1/groups/:id/managers/:userId', tag: 'groups', summary: 'Remove a manager', access: ADMIN,
    params: z.strictObject({ id: z.uuid('must be an id (UUID)'), userId: z.uuid('must be an id (UUID)') }),
    handler: ({ ctx, params }) => removeManager(ctx, params.id, params.userId) });
  r.route({ method: 'GET', url: '/api/v1/me/managed-users', tag: 'me', summary: 'Users I administer through user-management groups', access: 'authenticated',
    handler: async ({ ctx, req }) => ({ items: await managedUsers(ctx.db, req.auth!.session.user.id) }) });
}
