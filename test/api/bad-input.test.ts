import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Table-driven: every write endpoint gets payloads that are wrong in its own ways, plus the
 * generic ones (broken JSON, wrong shape, unknown field, bad ids). Each must give a 4xx with a
 * useful message, never a 500. A write route missing from the table fails the test.
 */
type Case = { body: unknown; status: number; detail: RegExp };
const long = 'x'.repeat(5000);

const TABLE: Record<string, { valid: Record<string, unknown>; cases: Case[] }> = {
  'POST /api/v1/auth/login': { valid: { username: 'a', password: 'b' }, cases: [
    { body: { username: '', password: 'x' }, status: 400, detail: /username required/ },
    { body: { username: 'admin' }, status: 400, detail: /password/ },
    { body: { username: 'admin', password: long }, status: 400, detail: /password/ },
  ] },
  'POST /api/v1/auth/change-password': { valid: { currentPassword: 'a', newPassword: 'b' }, cases: [
    { body: { currentPassword: 'wrong-password-1', newPassword: 'A-good-new-passphrase-1' }, status: 400, detail: /current password is wrong/ },
    { body: { currentPassword: 1, newPassword: 2 }, status: 400, detail: /currentPassword/ },
  ] },
  'POST /api/v1/auth/logout': { valid: {}, cases: [] },
  'POST /api/v1/audit/checkpoints': { valid: {}, cases: [] },
  'POST /api/v1/sites': { valid: { name: 'S' }, cases: [
    { body: { name: '' }, status: 400, detail: /name must not be empty/ },
    { body: { name: long }, status: 400, detail: /at most 128/ },
    { body: { name: 'S', timezone: 'Mars/Olympus' }, status: 400, detail: /IANA time zone/ },
    { body: { name: 'S', streamQuality: 'ultra' }, status: 400, detail: /streamQuality/ },
    { body: { name: 'S', maxConnections: 0 }, status: 400, detail: /maxConnections/ },
    { body: { name: 'S', maxConnections: '5' }, status: 400, detail: /maxConnections/ },
    { body: { name: 'Existing site' }, status: 409, detail: /already exists/ },
  ] },
  'PATCH /api/v1/sites/:id': { valid: {}, cases: [{ body: { timezone: 'nowhere' }, status: 400, detail: /time zone/ }, { body: { id: 'x' }, status: 400, detail: /unknown field/ }] },
  'DELETE /api/v1/sites/:id': { valid: {}, cases: [] },
  'POST /api/v1/zones': { valid: { siteId: '$site', name: 'Z', purdueLevel: 1 }, cases: [
    { body: { siteId: '$site', name: 'Z', purdueLevel: 2.5 }, status: 400, detail: /one of 0, 1, 2, 3, 3.5/ },
    { body: { siteId: '$site', name: 'Z', purdueLevel: 1, targetSecurityLevel: 5 }, status: 400, detail: /SL1-SL4/ },
    { body: { siteId: 'nope', name: 'Z', purdueLevel: 1 }, status: 400, detail: /siteId must be an id/ },
    { body: { siteId: '00000000-0000-4000-8000-000000000000', name: 'Z', purdueLevel: 1 }, status: 404, detail: /site .* does not exist/ },
  ] },
  'PATCH /api/v1/zones/:id': { valid: {}, cases: [{ body: { purdueLevel: -1 }, status: 400, detail: /purdueLevel/ }] },
  'DELETE /api/v1/zones/:id': { valid: {}, cases: [] },
  'POST /api/v1/assets': { valid: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }] }, cases: [
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [] }, status: 400, detail: /at least one access method/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'tcp' }] }, status: 400, detail: /port is required for protocol tcp/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh', port: 70000 }] }, status: 400, detail: /1-65535/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'gopher' }] }, status: 400, detail: /protocol/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: 'bad host;rm -rf', accessMethods: [{ protocol: 'ssh' }] }, status: 400, detail: /host name/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }, { protocol: 'ssh', port: 22 }] }, status: 400, detail: /must not repeat/ },
    { body: { siteId: '$site', name: 'A', host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }] }, status: 400, detail: /Purdue level or a zone/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }], tags: ['ok', 'not ok'] }, status: 400, detail: /tags/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }], loginTimes: [{ days: ['mon'], start: '18:00', end: '06:00' }] }, status: 400, detail: /start must be before end/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }], loginTimes: [{ days: ['someday'], start: '08:00', end: '09:00' }] }, status: 400, detail: /days/ },
    { body: { siteId: '$site', name: 'A', purdueLevel: 2, zoneId: '$zone', host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }] }, status: 400, detail: /does not match zone/ },
    { body: { siteId: '$site', name: 'Existing asset', purdueLevel: 1, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' }] }, status: 409, detail: /already exists/ },
  ] },
  'POST /api/v1/assets/import': { valid: {}, cases: [] },
  'POST /api/v1/assets/activate': { valid: { ids: ['$asset'] }, cases: [
    { body: { ids: [] }, status: 400, detail: /at least one asset/ },
    { body: { ids: ['$asset'] }, status: 400, detail: /already active/ },
  ] },
  'PATCH /api/v1/assets/:id': { valid: {}, cases: [{ body: { host: '' }, status: 400, detail: /host/ }, { body: { state: 'imported' }, status: 400, detail: /unknown field/ }] },
  'DELETE /api/v1/assets/:id': { valid: {}, cases: [] },
  'POST /api/v1/users': { valid: { username: 'u1', role: 'Client' }, cases: [
    { body: { username: 'alice+plc', role: 'Client' }, status: 400, detail: /no spaces, no \+ or @/ },
    { body: { username: 'bob', role: 'Root' }, status: 400, detail: /role/ },
    { body: { username: 'bob', role: 'Client', email: 'not-an-email' }, status: 400, detail: /email address/ },
    { body: { username: 'bob', role: 'Client', affiliation: 'vendor' }, status: 400, detail: /needs a vendor company/ },
    { body: { username: 'bob', role: 'Client', password: 'short' }, status: 400, detail: /at least 12/ },
    { body: { username: 'bob', role: 'Client', expiresAt: '31.12.2030' }, status: 400, detail: /date/ },
    { body: { username: 'Existing.User', role: 'Client' }, status: 409, detail: /already exists/ },
  ] },
  'PATCH /api/v1/users/:id': { valid: {}, cases: [{ body: { status: 'locked' }, status: 400, detail: /status/ }, { body: { role: 'God' }, status: 400, detail: /role/ }] },
  'DELETE /api/v1/users/:id': { valid: {}, cases: [] },
  'POST /api/v1/users/:id/reset-password': { valid: {}, cases: [] },
  'POST /api/v1/vendors': { valid: { name: 'V' }, cases: [
    { body: { name: 'V', contractEnd: '2030-13-45' }, status: 400, detail: /YYYY-MM-DD/ },
    { body: { name: 'V', contacts: [{ email: 'x@y.z' }] }, status: 400, detail: /contacts/ },
    { body: { name: 'V', termsAccepted: 'yes' }, status: 400, detail: /termsAccepted/ },
  ] },
  'PATCH /api/v1/vendors/:id': { valid: {}, cases: [{ body: { lastSecurityAssessment: 'yesterday' }, status: 400, detail: /YYYY-MM-DD/ }] },
  'DELETE /api/v1/vendors/:id': { valid: {}, cases: [] },
  'POST /api/v1/groups': { valid: { name: 'G', kind: 'permission' }, cases: [{ body: { name: 'G', kind: 'admins' }, status: 400, detail: /kind/ }] },
  'PATCH /api/v1/groups/:id': { valid: {}, cases: [{ body: { kind: 'permission' }, status: 400, detail: /unknown field/ }] },
  'DELETE /api/v1/groups/:id': { valid: {}, cases: [] },
  'POST /api/v1/groups/:id/members': { valid: { userId: '$user' }, cases: [{ body: { userId: '00000000-0000-4000-8000-000000000000' }, status: 404, detail: /user .* does not exist/ }] },
  'DELETE /api/v1/groups/:id/members/:userId': { valid: {}, cases: [] },
  'POST /api/v1/groups/:id/managers': { valid: { userId: '$user' }, cases: [{ body: { userId: '$user' }, status: 409, detail: /only user-management groups have managers/ }] },
  'DELETE /api/v1/groups/:id/managers/:userId': { valid: {}, cases: [] },
  'POST /api/v1/grants': { valid: { subjectType: 'user', subjectId: '$user', targetType: 'asset', target: '$asset' }, cases: [
    { body: { subjectType: 'user', subjectId: '$user', targetType: 'planet', target: 'x' }, status: 400, detail: /targetType/ },
    { body: { subjectType: 'user', subjectId: '$user', targetType: 'tag', target: 'bad tag!' }, status: 400, detail: /tags are/ },
    { body: { subjectType: 'group', subjectId: '$umgroup', targetType: 'tag', target: 'plc' }, status: 400, detail: /permission groups/ },
    { body: { subjectType: 'user', subjectId: '$user', targetType: 'asset', target: '00000000-0000-4000-8000-000000000000' }, status: 400, detail: /asset .* does not exist/ },
  ] },
  'DELETE /api/v1/grants/:id': { valid: {}, cases: [] },
  'POST /api/v1/auth/mfa/totp': { valid: { code: '123456' }, cases: [
    { body: { code: '' }, status: 400, detail: /code required/ },
    { body: { code: '123456' }, status: 409, detail: /no pending second factor/ },
  ] },
  'POST /api/v1/auth/mfa/recovery': { valid: { code: 'abcd-efgh-jkmn' }, cases: [{ body: { code: 42 }, status: 400, detail: /code/ }] },
  'POST /api/v1/users/:id/mfa/reset': { valid: {}, cases: [] },
  'DELETE /api/v1/users/:id/sessions': { valid: {}, cases: [] },
  'POST /api/v1/me/mfa/totp/enroll': { valid: {}, cases: [] },
  'POST /api/v1/me/mfa/totp/confirm': { valid: { code: '000000' }, cases: [{ body: { code: 'x'.repeat(65) }, status: 400, detail: /code/ }] },
  'DELETE /api/v1/me/mfa/totp': { valid: {}, cases: [] },
  'POST /api/v1/me/mfa/recovery-codes': { valid: {}, cases: [] },
  'DELETE /api/v1/me/sessions/:id': { valid: {}, cases: [] },
  'POST /api/v1/me/mfa/webauthn/register/options': { valid: {}, cases: [] },
  'POST /api/v1/me/mfa/webauthn/register/verify': { valid: { name: 'Key', response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } }, cases: [
    { body: { name: '', response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } }, status: 400, detail: /name must not be empty/ },
    { body: { name: 'x'.repeat(65), response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } }, status: 400, detail: /name must be at most 64/ },
    { body: { name: 'Key' }, status: 400, detail: /response/ },
    { body: { name: 'Key', response: { ...{ id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } }, type: 'password' } }, status: 400, detail: /response\/type/ },
    { body: { name: 'Key', response: { ...{ id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } }, rawId: 'not base64!' } }, status: 400, detail: /base64url/ },
    { body: { name: 'Key', response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } }, status: 409, detail: /no security key registration is in progress/ },
  ] },
  'PATCH /api/v1/me/mfa/webauthn/keys/:id': { valid: { name: 'Key' }, cases: [{ body: { name: '' }, status: 400, detail: /name/ }, { body: { name: 'a\u0007b' }, status: 400, detail: /control characters/ }] },
  'DELETE /api/v1/me/mfa/webauthn/keys/:id': { valid: {}, cases: [] },
  'POST /api/v1/auth/mfa/webauthn/options': { valid: {}, cases: [] },
  'POST /api/v1/auth/mfa/webauthn/verify': { valid: { response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } } }, cases: [
    { body: { response: 'assertion' }, status: 400, detail: /response/ },
    { body: { response: { ...{ id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } }, response: { clientDataJSON: 'e30' } } }, status: 400, detail: /authenticatorData/ },
    { body: { response: { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } } }, status: 409, detail: /no pending second factor/ },
  ] },
  'PATCH /api/v1/settings/security': { valid: {}, cases: [
    { body: { minPasswordLength: 4 }, status: 400, detail: /minPasswordLength/ },
    { body: { lockoutAttempts: 0 }, status: 400, detail: /lockoutAttempts/ },
    { body: { otpRequiredRoles: ['Root'] }, status: 400, detail: /otpRequiredRoles/ },
    { body: { passwordExpirationDays: '30' }, status: 400, detail: /passwordExpirationDays/ },
  ] },
  'PATCH /api/v1/settings/oversight': { valid: {}, cases: [{ body: { operators: 'some' }, status: 400, detail: /operators/ }, { body: { operators: 'none', extra: 1 }, status: 400, detail: /extra/ }] },
  'PATCH /api/v1/settings/login-message': { valid: {}, cases: [{ body: { text: 'x'.repeat(6000) }, status: 400, detail: /text/ }, { body: { enabled: 'yes' }, status: 400, detail: /enabled/ }] },
  'POST /api/v1/tokens': { valid: { name: 'ITSM', role: 'Client', expiresAt: '2099-01-01' }, cases: [
    { body: { name: 'ITSM', role: 'Client', expiresAt: '2000-01-01' }, status: 400, detail: /in the future/ },
    { body: { name: 'ITSM', role: 'Client', expiresAt: '2099-01-01' }, status: 400, detail: /at most one year/ },
    { body: { name: 'ITSM', role: 'Root', expiresAt: '2099-01-01' }, status: 400, detail: /role/ },
    { body: { name: 'ITSM', role: 'Client' }, status: 400, detail: /expiresAt/ },
  ] },
  'DELETE /api/v1/tokens/:id': { valid: {}, cases: [] },
  'POST /api/v1/me/ssh-keys': { valid: { name: 'Laptop', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf7sRX2r8vZ/0Bp0pVpCjN2n6Qv4h0HhJ3vC9hV8a0D me@host' }, cases: [
    { body: { name: 'Laptop', publicKey: 'not a key' }, status: 400, detail: /not a supported public key/ },
    { body: { name: 'Laptop', publicKey: '-----BEGIN OPENSSH PRIVATE KEY-----' }, status: 400, detail: /private key/ },
    { body: { name: '', publicKey: 'ssh-ed25519 AAAA' }, status: 400, detail: /name/ },
    { body: { name: 'Laptop' }, status: 400, detail: /publicKey/ },
  ] },
  'DELETE /api/v1/me/ssh-keys/:id': { valid: {}, cases: [] },
  'POST /api/v1/sessions/:id/terminate': { valid: { reason: 'x' }, cases: [{ body: { reason: '' }, status: 400, detail: /say why/ }] },
  'POST /api/v1/sessions/:id/recording/video': { valid: {}, cases: [] },
  'POST /api/v1/sessions/:id/approve': { valid: {}, cases: [{ body: { comment: 'x'.repeat(501) }, status: 400, detail: /comment/ }, { body: { comment: 'ok', extra: 1 }, status: 400, detail: /extra/ }] },
  'POST /api/v1/sessions/:id/reject': { valid: { reason: 'x' }, cases: [{ body: { reason: '' }, status: 400, detail: /say why/ }, { body: {}, status: 400, detail: /reason/ }] },
  'POST /api/v1/sessions/:id/review': { valid: { note: 'x' }, cases: [{ body: { note: '   ' }, status: 400, detail: /write down what you checked/ }, { body: { note: 'x'.repeat(2001) }, status: 400, detail: /note/ }] },
  'DELETE /api/v1/assets/:id/host-keys/:port': { valid: {}, cases: [] },
  'POST /api/v1/assets/:id/accounts': { valid: { name: 'maint', username: 'root', kind: 'password', password: 'x' }, cases: [
    { body: { name: 'maint', username: 'root', kind: 'token', password: 'x' }, status: 400, detail: /kind/ },
    { body: { name: 'maint', username: 'root', kind: 'password' }, status: 400, detail: /password/ },
    { body: { name: 'maint', username: 'root', kind: 'ssh_key', privateKey: 'hello' }, status: 400, detail: /private key/ },
    { body: { name: 'maint', username: 'root', kind: 'ssh_key', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----' }, status: 400, detail: /cannot be read/ },
    { body: { name: '', username: 'root', kind: 'password', password: 'x' }, status: 400, detail: /name/ },
    { body: { name: 'Existing account', username: 'root', kind: 'password', password: 'x' }, status: 409, detail: /already has an account/ },
  ] },
  'PATCH /api/v1/assets/:id/accounts/:accountId': { valid: {}, cases: [{ body: { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----' }, status: 400, detail: /password account/ }] },
  'DELETE /api/v1/assets/:id/accounts/:accountId': { valid: {}, cases: [] },
  'POST /api/v1/ldap-domains': { valid: { name: 'D', url: 'ldap://127.0.0.1:1', baseDn: 'dc=plant,dc=test' }, cases: [
    { body: { name: 'D', url: 'http://dc1.plant.test', baseDn: 'dc=plant,dc=test' }, status: 400, detail: /ldap:\/\/ or ldaps:\/\// },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'plant' }, status: 400, detail: /must be a DN/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', userFilter: '(uid=alice)' }, status: 400, detail: /must contain \{username\}/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', userFilter: '(&(uid={username})' }, status: 400, detail: /valid LDAP filter/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', bindDn: 'cn=svc,dc=plant,dc=test' }, status: 400, detail: /bindPassword is required with a bindDn/ },
    { body: { name: 'D', url: 'ldaps://dc1.plant.test', baseDn: 'dc=plant,dc=test', startTls: true }, status: 400, detail: /startTls is for ldap:\/\// },
    { body: { name: 'D', url: 'ldaps://dc1.plant.test', baseDn: 'dc=plant,dc=test', tlsCa: 'not a certificate' }, status: 400, detail: /PEM/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', groupMappings: [{ group: 'cn=ot-admins,dc=plant,dc=test' }] }, status: 400, detail: /a role, a groupId, or both/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', groupMappings: [{ group: 'cn=x', role: 'Root' }] }, status: 400, detail: /role/ },
    { body: { name: 'D', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test', groupMappings: [{ group: 'cn=x', groupId: '$umgroup' }] }, status: 400, detail: /only permission groups/ },
    { body: { name: 'Existing directory', url: 'ldap://dc1.plant.test', baseDn: 'dc=plant,dc=test' }, status: 409, detail: /already exists/ },
  ] },
  'PATCH /api/v1/ldap-domains/:id': { valid: {}, cases: [
    { body: { url: 'ftp://dc1.plant.test' }, status: 400, detail: /ldap:\/\/ or ldaps:\/\// },
    { body: { usernameAttribute: 'uid)(x' }, status: 400, detail: /usernameAttribute/ },
    { body: { bindPassword: 5 }, status: 400, detail: /bindPassword/ },
  ] },
  'DELETE /api/v1/ldap-domains/:id': { valid: {}, cases: [] },
  'POST /api/v1/ldap-domains/:id/test': { valid: {}, cases: [] },
  'PUT /api/v1/settings/smtp': { valid: {}, cases: [
    { body: { host: 'bad host;rm -rf' }, status: 400, detail: /host must be an IPv4\/IPv6 address or a DNS host name/ },
    { body: { host: 'mail.plant.test', port: 0 }, status: 400, detail: /port must be a port number \(1-65535\)/ },
    { body: { host: 'mail.plant.test', port: 70000 }, status: 400, detail: /port must be a port number \(1-65535\)/ },
    { body: { host: 'mail.plant.test', port: '25' }, status: 400, detail: /port/ },
    { body: { host: 'mail.plant.test', fromAddress: 'portcullis at plant' }, status: 400, detail: /fromAddress must be an email address/ },
    { body: { host: 'mail.plant.test', security: 'ssl' }, status: 400, detail: /security/ },
    { body: { enabled: true, fromAddress: 'portcullis@plant.test' }, status: 400, detail: /\/host is required when email is enabled/ },
    { body: { host: 'mail.plant.test', username: 'svc', security: 'starttls' }, status: 400, detail: /\/password is required with a username/ },
    { body: { host: 'mail.plant.test', username: 'svc', password: 'pw-123', security: 'none' }, status: 400, detail: /clear text/ },
  ] },
  'POST /api/v1/settings/smtp/test': { valid: { to: 'a@plant.test' }, cases: [
    { body: { to: 'not an address' }, status: 400, detail: /to must be an email address/ },
    { body: {}, status: 400, detail: /to/ },
    { body: { to: 'a@plant.test' }, status: 400, detail: /save a host and a sender address first/ },
  ] },
  'POST /api/v1/webhooks': { valid: { name: 'W', url: 'https://itsm.plant.test/hook', secret: 'x'.repeat(32) }, cases: [
    { body: { name: 'W', url: 'ftp://itsm.plant.test/hook', secret: 'x'.repeat(32) }, status: 400, detail: /url must be an http:\/\/ or https:\/\/ URL/ },
    { body: { name: 'W', url: 'javascript:alert(1)', secret: 'x'.repeat(32) }, status: 400, detail: /http:\/\/ or https:\/\// },
    { body: { name: 'W', url: 'not a url', secret: 'x'.repeat(32) }, status: 400, detail: /absolute http:\/\/ or https:\/\/ URL/ },
    { body: { name: 'W', url: 'http://169.254.169.254/latest/meta-data/', secret: 'x'.repeat(32) }, status: 400, detail: /cloud metadata address.*SSRF/ },
    { body: { name: 'W', url: 'http://[fe80::1]/hook', secret: 'x'.repeat(32) }, status: 400, detail: /link-local address/ },
    { body: { name: 'W', url: 'http://127.0.0.1:8080/hook', secret: 'x'.repeat(32) }, status: 400, detail: /loopback/ },
    { body: { name: 'W', url: 'https://itsm.plant.test/hook', secret: 'short' }, status: 400, detail: /secret must be at least 16 characters/ },
    { body: { name: 'W', url: 'https://itsm.plant.test/hook', secret: 'x'.repeat(32), events: ['request.eaten'] }, status: 400, detail: /events\/0 must be/ },
    { body: { name: 'W', url: 'https://itsm.plant.test/hook', secret: 'x'.repeat(32), events: [] }, status: 400, detail: /at least one event/ },
    { body: { name: 'Existing webhook', url: 'https://itsm.plant.test/hook', secret: 'x'.repeat(32) }, status: 409, detail: /already exists/ },
  ] },
  'PATCH /api/v1/webhooks/:id': { valid: {}, cases: [
    { body: { url: 'file:///etc/passwd' }, status: 400, detail: /http:\/\/ or https:\/\// },
    { body: { url: 'http://169.254.169.254/' }, status: 400, detail: /SSRF/ },
    { body: { secret: 5 }, status: 400, detail: /secret/ },
    { body: { enabled: 'yes' }, status: 400, detail: /enabled/ },
  ] },
  'DELETE /api/v1/webhooks/:id': { valid: {}, cases: [] },
  'POST /api/v1/webhooks/:id/test': { valid: {}, cases: [] },
  'POST /api/v1/policy/rules': { valid: { name: 'R', subjects: { everyone: true }, targets: { all: true } }, cases: [
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, windows: [{ days: ['mon'], start: '18:00', end: '06:00' }] }, status: 400, detail: /start must be before end/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, windows: [{ days: ['mon'], start: '06:00', end: '12:00' }, { days: ['mon'], start: '08:00', end: '09:00' }] }, status: 400, detail: /windows overlap on Mon/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, windows: [{ days: ['mon'], start: '06:00', end: '12:00' }], timezone: 'Mars/Olympus' }, status: 400, detail: /IANA time zone/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, maxSessionMinutes: 0 }, status: 400, detail: /at least 1 minute/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, maxSessionMinutes: 3 * 525_600 }, status: 400, detail: /at most 1440 minutes/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { all: true }, blockedProtocols: ['gopher'] }, status: 400, detail: /unknown protocol/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: { namePatterns: ['SIS-[0-9'] } }, status: 400, detail: /invalid pattern/ },
    { body: { name: 'R', subjects: { everyone: true }, targets: {} }, status: 400, detail: /at least one target/ },
    { body: { name: 'R', effect: 'deny', subjects: { everyone: true }, targets: { all: true }, watchRequired: true }, status: 400, detail: /deny rule refuses access outright/ },
    { body: { name: 'R', subjects: { users: ['00000000-0000-4000-8000-000000000000'] }, targets: { all: true } }, status: 400, detail: /user .* does not exist/ },
    { body: { name: 'Existing rule', subjects: { everyone: true }, targets: { all: true } }, status: 409, detail: /already exists/ },
  ] },
  'PATCH /api/v1/policy/rules/:id': { valid: {}, cases: [
    { body: { windows: [{ days: ['tue'], start: '10:00', end: '10:00' }] }, status: 400, detail: /start must be before end/ },
    { body: { idleTimeoutMinutes: 0 }, status: 400, detail: /at least 1 minute/ },
    { body: { validFrom: '2030-01-01', validUntil: '2029-01-01' }, status: 400, detail: /validUntil must be after validFrom/ },
    { body: { id: 'x' }, status: 400, detail: /unknown field/ },
  ] },
  'DELETE /api/v1/policy/rules/:id': { valid: {}, cases: [] },
  'PUT /api/v1/policy/defaults': { valid: {}, cases: [
    { body: { levels: { '6': { approvals: 1 } } }, status: 400, detail: /unknown field/ },
    { body: { levels: { '1': { approvals: -1 } } }, status: 400, detail: /approvals/ },
    { body: { levels: { '1': { maxSessionMinutes: 0 } } }, status: 400, detail: /at least 1 minute/ },
    { body: { levels: { '2': { idleTimeoutMinutes: 525_600 } } }, status: 400, detail: /at most 1440 minutes/ },
    { body: { enabled: 'yes' }, status: 400, detail: /enabled/ },
  ] },
  'POST /api/v1/policy/evaluate': { valid: { userId: '$user', assetId: '$asset', protocol: 'ssh' }, cases: [
    { body: { userId: '$user', assetId: '$asset', protocol: 'gopher' }, status: 400, detail: /unknown protocol/ },
    { body: { userId: '$user', assetId: '$asset', protocol: 'ssh', at: 'tomorrow' }, status: 400, detail: /at must be a date/ },
    { body: { userId: '$user', assetId: '$asset', protocol: 'ssh', port: 0 }, status: 400, detail: /1-65535/ },
    { body: { userId: '00000000-0000-4000-8000-000000000000', assetId: '$asset', protocol: 'ssh' }, status: 404, detail: /user .* does not exist/ },
  ] },
  'POST /api/v1/requests': { valid: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 60 }, cases: [
    { body: { assets: [], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 60 }, status: 400, detail: /at least one asset/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2000-01-01T10:00:00Z', durationMinutes: 60 }, status: 400, detail: /must be in the future/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 0 }, status: 400, detail: /at least 1 minute/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 1_051_200 }, status: 400, detail: /at most 10080 minutes/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', recurrence: { windows: [{ days: ['tue'], start: '18:00', end: '14:00' }], until: '2099-02-01' } }, status: 400, detail: /start must be before end/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', recurrence: { windows: [{ days: ['tue'], start: '08:00', end: '12:00' }, { days: ['tue'], start: '11:00', end: '13:00' }], until: '2099-02-01' } }, status: 400, detail: /windows overlap/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 60, timeZone: 'Mars/Olympus' }, status: 400, detail: /IANA time zone/ },
    { body: { assets: ['$asset'], protocols: ['gopher'], purpose: 'P', start: '2099-01-01T10:00:00Z', durationMinutes: 60 }, status: 400, detail: /unknown protocol/ },
    { body: { assets: ['$asset'], protocols: ['ssh'], purpose: '', start: '2099-01-01T10:00:00Z', durationMinutes: 60 }, status: 400, detail: /say what the access is for/ },
    { body: { assets: ['00000000-0000-4000-8000-000000000000'], protocols: ['ssh'], purpose: 'P', start: '2026-12-30T10:00:00Z', durationMinutes: 60 }, status: 404, detail: /asset .* does not exist/ },
  ] },
  'POST /api/v1/requests/:id/approve': { valid: {}, cases: [
    { body: {}, status: 409, detail: /already denied/ },
    { body: { comment: 1 }, status: 400, detail: /comment/ },
  ] },
  'POST /api/v1/requests/:id/deny': { valid: { comment: 'no' }, cases: [
    { body: {}, status: 400, detail: /comment/ },
    { body: { comment: 'again' }, status: 409, detail: /already denied/ },
  ] },
  'POST /api/v1/requests/:id/extend': { valid: { end: '2099-01-01T12:00:00Z' }, cases: [
    { body: {}, status: 400, detail: /give end .* or until/ },
    { body: { end: 'tomorrow' }, status: 400, detail: /ISO 8601 timestamp/ },
    { body: { end: '2099-01-01T12:00:00Z' }, status: 409, detail: /only an approved request can be extended/ },
  ] },
  'POST /api/v1/requests/:id/cancel': { valid: {}, cases: [{ body: {}, status: 409, detail: /already denied/ }] },
  'POST /api/v1/requests/:id/revoke': { valid: { comment: 'r' }, cases: [
    { body: {}, status: 400, detail: /comment/ },
    { body: { comment: 'r' }, status: 409, detail: /already denied/ },
  ] },
  'PUT /api/v1/requests/itsm/settings': { valid: {}, cases: [
    { body: { enabled: true }, status: 400, detail: /secret is required/ },
    { body: { secret: 'short' }, status: 400, detail: /at least 16/ },
    { body: { serviceUserId: '00000000-0000-4000-8000-000000000000' }, status: 404, detail: /user .* does not exist/ },
  ] },
  'POST /api/v1/requests/itsm/webhook': { valid: {}, cases: [
    { body: { ticket: 'CHG-1', state: 'approved' }, status: 401, detail: /not enabled/ },
  ] },
};

describe('bad input on every write endpoint', () => {
  let t: TestGateway;
  let c: ApiClient;
  const ids: Record<string, string> = {};
  const fill = (v: unknown): unknown =>
    typeof v === 'string' && v.startsWith('$') ? ids[v.slice(1)] : Array.isArray(v) ? v.map(fill) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v;

  before(async () => {
    t = await startGateway({ tls: false });
    c = await adminClient(t);
    ids.site = (await c.post('/api/v1/sites', { name: 'Existing site' })).json.id;
    ids.zone = (await c.post('/api/v1/zones', { siteId: ids.site, name: 'Z1', purdueLevel: 1 })).json.id;
    ids.asset = (await c.post('/api/v1/assets', { siteId: ids.site, name: 'Existing asset', purdueLevel: 1, host: '10.0.0.9', accessMethods: [{ protocol: 'ssh' }] })).json.id;
    ids.user = (await c.post('/api/v1/users', { username: 'existing.user', role: 'Client' })).json.user.id;
    ids.vendor = (await c.post('/api/v1/vendors', { name: 'Existing vendor' })).json.id;
    ids.group = (await c.post('/api/v1/groups', { name: 'Existing group', kind: 'permission' })).json.id;
    ids.umgroup = (await c.post('/api/v1/groups', { name: 'User admins', kind: 'user_management' })).json.id;
    ids.grant = (await c.post('/api/v1/grants', { subjectType: 'group', subjectId: ids.group, targetType: 'site', target: ids.site })).json.id;
    ids.ldapDomain = (await c.post('/api/v1/ldap-domains', { name: 'Existing directory', url: 'ldap://127.0.0.1:1', baseDn: 'dc=plant,dc=test' })).json.id;
    ids.webhook = (await c.post('/api/v1/webhooks', { name: 'Existing webhook', url: 'https://itsm.plant.test/hook', secret: 'x'.repeat(32) })).json.id;
    ids.account = (await c.post(`/api/v1/assets/${ids.asset}/accounts`, { name: 'Existing account', username: 'root', kind: 'password', password: 'secret-1' })).json.id;
    ids.remoteSession = crypto.randomUUID(); // no live session: terminate answers 404
    ids.rule = (await c.post('/api/v1/policy/rules', { name: 'Existing rule', subjects: { everyone: true }, targets: { all: true } })).json.id;
    await c.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.user, targetType: 'site', target: ids.site });
    ids.request = (await c.post('/api/v1/requests', { userId: ids.user, assets: [ids.asset], protocols: ['ssh'], purpose: 'Existing request', start: new Date(Date.now() + 2 * 86_400_000).toISOString(), durationMinutes: 60 })).json.id;
    await c.post(`/api/v1/requests/${ids.request}/deny`, { comment: 'denied for the bad-input table' });
    ids.token = (await c.post('/api/v1/tokens', { name: 'Existing token', role: 'Client', expiresAt: new Date(Date.now() + 86_400_000).toISOString() })).json.token.id;
    // A second session of the admin, to revoke through /me/sessions/:id.
    const other = t.client();
    await other.login(t.admin.username, t.admin.password);
    ids.session = (await c.get('/api/v1/me/sessions')).json.items.find((x: { current: boolean }) => !x.current).id;
    assert.ok(Object.values(ids).every(Boolean), JSON.stringify(ids));
  });
  after(async () => {
    await t?.stop();
  });

  it('has a row for every write route', () => {
    const writes = t.gw.rules.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(writes.filter((w) => !(w in TABLE)), [], 'write routes without bad-input cases');
  });

  it('answers every bad payload with a 4xx problem and a useful message, never a 500', async () => {
    const failures: string[] = [];
    const check = async (label: string, method: string, url: string, body: unknown, status: number, detail: RegExp, headers: Record<string, string> = {}) => {
      const r = await c.request(method, url, body, headers);
      const ok = r.status === status && r.headers['content-type']?.toString().startsWith('application/problem+json') && detail.test(String(r.json?.detail ?? ''));
      if (!ok) failures.push(`${label}: got ${r.status} ${r.text.slice(0, 300)}`);
    };
    const ownerOf: Record<string, string> = { sites: 'site', zones: 'zone', assets: 'asset', users: 'user', vendors: 'vendor', groups: 'group', grants: 'grant', tokens: 'token', me: 'session', sessions: 'remoteSession', 'ldap-domains': 'ldapDomain', webhooks: 'webhook', policy: 'rule', requests: 'request' };
    for (const rule of t.gw.rules.filter((r) => r.method !== 'GET')) {
      const key = `${rule.method} ${rule.url}`;
      const entry = TABLE[key]!;
      const kind = rule.url.split('/')[3]!;
      const real = rule.url.replace(':id', ids[ownerOf[kind]!]!).replace(':userId', ids.user!).replace(':accountId', ids.account!).replace(':port', '22');
      const hasBody = rule.method !== 'DELETE' && key !== 'POST /api/v1/assets/import' && key !== 'POST /api/v1/requests/itsm/webhook';
      for (const [i, cs] of entry.cases.entries()) await check(`${key} case ${i}`, rule.method, real, fill(cs.body), cs.status, cs.detail);
      if (rule.url.includes(':id')) {
        const session = kind === 'me' && !rule.url.includes('/ssh-keys/');
        const webauthnKey = rule.url.includes('/webauthn/keys/');
        await check(`${key} malformed id`, rule.method, rule.url.replace(':id', 'not-a-uuid').replace(':userId', ids.user!).replace(':accountId', ids.account!).replace(':port', '22'), hasBody ? fill(entry.valid) : undefined, 400, webauthnKey ? /must be a credential id/ : session ? /must be a session id/ : /must be an id/);
        const unknown = session ? '0'.repeat(64) : '00000000-0000-4000-8000-000000000000';
        await check(`${key} unknown id`, rule.method, rule.url.replace(':id', unknown).replace(':userId', ids.user!).replace(':accountId', ids.account!).replace(':port', '22'), hasBody ? fill(entry.valid) : undefined, 404, webauthnKey ? /no such security key/ : session ? /no such session/ : /does not exist/);
      }
      if (hasBody && rule.url !== '/api/v1/auth/logout') {
        await check(`${key} broken JSON`, rule.method, real, '{"name": ', 400, /not valid JSON/, { 'content-type': 'application/json' });
        await check(`${key} array body`, rule.method, real, [], 400, /invalid body/);
        await check(`${key} unknown field`, rule.method, real, { ...(fill(entry.valid) as object), surprise: 1 }, 400, /unknown field\(s\): surprise/);
        await check(`${key} wrong content type`, rule.method, real, '<xml/>', 415, /Content-Type/, { 'content-type': 'application/xml' });
      }
    }
    // Import: not CSV, broken CSV, wrong header, oversize.
    await check('import as JSON', 'POST', '/api/v1/assets/import', { rows: [] }, 400, /text\/csv/);
    await check('import broken CSV', 'POST', '/api/v1/assets/import', 'name,site,host,access_methods\n"unterminated,x,y,z', 400, /not valid CSV/, { 'content-type': 'text/csv' });
    await check('import wrong header', 'POST', '/api/v1/assets/import', 'nom,site\nx,y', 400, /missing required column\(s\): name, host, access_methods; unknown column\(s\): nom/, { 'content-type': 'text/csv' });
    await check('import ragged row', 'POST', '/api/v1/assets/import', 'name,site,host,access_methods\na,b,c', 400, /not valid CSV/, { 'content-type': 'text/csv' });
    await check('import empty', 'POST', '/api/v1/assets/import', 'name,site,host,access_methods\n', 400, /no assets/, { 'content-type': 'text/csv' });
    await check('import too large', 'POST', '/api/v1/assets/import', `name,site,host,access_methods\n${'a,b,c,d\n'.repeat(800_000)}`, 413, /too large/, { 'content-type': 'text/csv' });
    // Query strings are validated too.
    await check('bad filter value', 'GET', '/api/v1/assets?state=deleted', undefined, 400, /state/);
    await check('unknown filter', 'GET', '/api/v1/assets?color=red', undefined, 400, /unknown field\(s\): color/);
    await check('bad cursor', 'GET', '/api/v1/sites?cursor=%%%', undefined, 400, /cursor/);
    await check('limit too high', 'GET', '/api/v1/users?limit=100000', undefined, 400, /limit/);
    await check('unknown endpoint', 'GET', '/api/v1/nothing-here', undefined, 404, /no such endpoint/);
    assert.deepEqual(failures, []);
    const health = await c.get('/healthz');
    assert.equal(health.status, 200, 'the gateway is still healthy');
  });
});
