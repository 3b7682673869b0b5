/**
 * Node links (broker/nodes.ts) on their own: node tickets are redeemed once, only by their node,
 * for their session, before they expire; the registration row comes and goes; the node-to-node
 * WebSocket trusts only the certificate the holding node registered (a real TLS server with the
 * gateway's own self-signed certificate; the same server registered with another certificate).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/server/config.js';
import { connectNode, issueTicket, NODE_TICKET_HEADER, NodeRegistration, nodeAddress, redeemTicket } from '../../src/server/broker/nodes.js';
import { ensureTls } from '../../src/server/tls.js';
import { openTestDatabase } from '../helpers/db.js';

describe('gateway node links', () => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  const dirs: string[] = [];
  before(async () => {
    t = await openTestDatabase('sqlite');
  });
  after(async () => {
    await t?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a ticket is redeemed once, by its node, for its session, before it expires', async () => {
    const db = t.database.db;
    const issue = () => issueTicket(db, { node: 'gw-a:1:aa', sessionId: 's-1', userId: 'u-1', sourceIp: '10.0.0.9' });
    const token = await issue();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const stored = await db.selectFrom('node_tickets').selectAll().execute();
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0]!.token_hash, token, 'only the hash is stored');
    assert.deepEqual(await redeemTicket(db, 'gw-a:1:aa', token, 's-1'), { userId: 'u-1', sourceIp: '10.0.0.9' });
    assert.equal(await redeemTicket(db, 'gw-a:1:aa', token, 's-1'), undefined, 'once');
    // Another node, another session, or too late: refused, and the ticket is gone all the same.
    assert.equal(await redeemTicket(db, 'gw-b:1:bb', await issue(), 's-1'), undefined);
    assert.equal(await redeemTicket(db, 'gw-a:1:aa', await issue(), 's-2'), undefined);
    const late = await issue();
    await db.updateTable('node_tickets').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    assert.equal(await redeemTicket(db, 'gw-a:1:aa', late, 's-1'), undefined);
    assert.equal(await redeemTicket(db, 'gw-a:1:aa', 'not a token', 's-1'), undefined);
    assert.equal((await db.selectFrom('node_tickets').selectAll().execute()).length, 0);
  });

  test('a node registers while it runs; an old row is not an address', async () => {
    const db = t.database.db;
    const reg = new NodeRegistration({ db, node: 'gw-c:7:cc', url: 'https://gw-c.dmz:8443', certPem: 'PEM', logger: pino({ level: 'silent' }) });
    await reg.start();
    assert.deepEqual(await nodeAddress(db, 'gw-c:7:cc'), { url: 'https://gw-c.dmz:8443', certPem: 'PEM' });
    await db.updateTable('gateway_nodes').set({ seen_at: new Date(Date.now() - 5 * 60_000).toISOString() }).execute();
    assert.equal(await nodeAddress(db, 'gw-c:7:cc'), undefined, 'not seen for minutes: gone');
    await reg.stop();
    assert.equal((await db.selectFrom('gateway_nodes').selectAll().execute()).length, 0);
  });

  test('the node-to-node WebSocket trusts only the registered certificate and carries the ticket', async () => {
    const tlsOf = async () => {
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-node-tls-'));
      dirs.push(dir);
      return ensureTls(loadConfig({}, { dataDir: dir }));
    };
    const [mine, other] = [await tlsOf(), await tlsOf()];
    assert.notEqual(mine.fingerprint256, other.fingerprint256);
    const server = createServer({ cert: mine.cert, key: mine.key });
    const wss = new WebSocketServer({ server });
    const tickets: string[] = [];
    wss.on('connection', (ws, req) => {
      tickets.push(String(req.headers[NODE_TICKET_HEADER]));
      ws.send('hello from the holding node');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const ok = connectNode({ url, certPem: mine.cert }, '/api/v1/internal/sessions/s-1/watch', 'T'.repeat(43));
      assert.equal(await new Promise<string>((resolve, reject) => ok.on('message', (m) => resolve(String(m))).on('error', reject)), 'hello from the holding node');
      ok.close();
      assert.deepEqual(tickets, ['T'.repeat(43)]);
      const wrong = connectNode({ url, certPem: other.cert }, '/api/v1/internal/sessions/s-1/watch', 'U'.repeat(43));
      const err = await new Promise<Error>((resolve) => wrong.on('error', resolve).on('open', () => resolve(new Error('opened'))));
      assert.match(err.message, /self[- ]signed|not the registered|unable to verify/i);
      assert.deepEqual(tickets, ['T'.repeat(43)], 'the ticket never reached a server with another certificate');
      assert.throws(() => connectNode({ url, certPem: null }, '/x', 'V'.repeat(43)), /no certificate to trust/);
    } finally {
      wss.close();
      server.close();
    }
  });
});
