import { DomainError } from '../../errors.js';
import { addSshKey, listSshKeys, removeSshKey, sshKeyCreateSchema } from '../../sshd/keys.js';
import { type Router, idParams } from '../route.js';

/** My SSH public keys for the SSH front door (a key replaces the password there; the second factor stays). */
export function sshKeyRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/me/ssh-keys', tag: 'me', summary: 'My SSH public keys (SSH front door)', access: 'authenticated',
    handler: async ({ req, ctx }) => ({ items: await listSshKeys(ctx.db, req.auth!.session.user.id) }) });

  r.route({ method: 'POST', url: '/api/v1/me/ssh-keys', tag: 'me', summary: 'Register an SSH public key (one line of a .pub file) for the SSH front door', access: 'authenticated', body: sshKeyCreateSchema, status: 201,
    handler: async ({ req, ctx, body }) => {
      const session = req.auth!.session;
      // A leaked API token must not be able to plant a lasting credential.
      if (session.token) throw new DomainError('forbidden', 'API tokens cannot register SSH keys');
      return addSshKey(ctx, { id: session.user.id, username: session.user.username }, body);
    } });

  r.route({ method: 'DELETE', url: '/api/v1/me/ssh-keys/:id', tag: 'me', summary: 'Remove one of my SSH public keys', access: 'authenticated', params: idParams,
    handler: async ({ req, ctx, params }) => {
      const u = req.auth!.session.user;
      await removeSshKey(ctx, { id: u.id, username: u.username }, params.id);
    } });
}
