import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMAIL_TEMPLATES, type EmailTemplates, renderEmail } from '../../src/server/notify/templates.js';
import { restrictedHostReason } from '../../src/server/notify/ssrf.js';
import { backoffMs, EMAIL_RETRY } from '../../src/server/notify/notifier.js';
import { eventMatches } from '../../src/server/notify/webhooks.js';

const EVIL = '<img src=x onerror=alert(1)> & "quotes"';
const SAMPLES: { [K in keyof EmailTemplates]: EmailTemplates[K] } = {
  request_created: { requestId: 'r 1/2', requester: { username: 'vendor.bob', displayName: EVIL }, assets: ['PLC-07', 'HMI-2'], accessMethods: ['ssh', 'vnc'], purpose: `Firmware update\n${EVIL}`, ticket: 'CHG-1042', start: '2026-03-10T08:00:00Z', end: '2026-03-10T10:00:00Z', approvalsNeeded: 2, timeZone: 'Europe/Berlin' },
  request_decided: { requestId: 'r1', decision: 'approved', decidedBy: { username: 'alice' }, comment: EVIL, assets: ['PLC-07'], start: '2026-03-10T08:00:00Z', end: '2026-03-10T10:00:00Z' },
  window_starting: { requestId: 'r1', assets: ['PLC-07'], start: '2026-03-10T08:00:00Z', end: '2026-03-10T10:00:00Z' },
  window_ending: { requestId: 'r1', assets: ['PLC-07'], end: '2026-03-10T10:00:00Z' },
  session_pending: { sessionId: 's1', user: { username: 'vendor.bob' }, asset: EVIL, protocol: 'rdp', requestedAt: '2026-03-10T08:00:00Z', sourceIp: '203.0.113.7' },
  break_glass: { sessionId: 's1', user: { username: 'op\r\nBcc: victim@example.com' }, asset: 'SIS-1', reason: EVIL, at: '2026-03-10T08:00:00Z' },
};

describe('email templates (pure)', () => {
  it('render every template with text and escaped HTML, and one-line subjects', () => {
    for (const name of EMAIL_TEMPLATES) {
      const r = renderEmail(name, SAMPLES[name] as never, { consoleUrl: 'https://gateway.plant.test/' });
      assert.ok(r.subject.startsWith('[Portcullis] '), name);
      assert.doesNotMatch(r.subject, /[\r\n]/, `${name}: no header injection`);
      assert.ok(r.text.length > 50 && r.html.startsWith('<!DOCTYPE html>'), name);
      assert.ok(!r.html.includes('<img'), `${name}: HTML escaped`);
      assert.ok(!/onerror=alert\(1\)>/.test(r.html), name);
    }
  });

  it('says what an approver needs, with a link into the console', () => {
    const r = renderEmail('request_created', SAMPLES.request_created, { consoleUrl: 'https://gateway.plant.test/' });
    assert.match(r.text, /Assets: PLC-07, HMI-2/);
    assert.match(r.text, /From: 10 Mar 2026, 09:00 \(Europe\/Berlin\)/);
    assert.match(r.text, /Ticket: CHG-1042/);
    assert.match(r.text, /Approvals needed: 2 \(dual authorization\)/);
    assert.match(r.text, /Purpose:\n> Firmware update\n> <img/);
    assert.match(r.text, /Review the request: https:\/\/gateway\.plant\.test\/requests\/r%201%2F2/);
    assert.match(r.html, /href="https:\/\/gateway\.plant\.test\/requests\/r%201%2F2"/);
    assert.match(r.html, /&lt;img src=x onerror=alert\(1\)&gt; &amp; &quot;quotes&quot;/);
  });

  it('carries no link without a public URL, and a caller link overrides the default path', () => {
    const none = renderEmail('window_ending', SAMPLES.window_ending);
    assert.doesNotMatch(none.text, /https?:\/\//);
    assert.doesNotMatch(none.html, /href=/);
    assert.match(none.subject, /ends in 5 minutes/);
    const custom = renderEmail('window_ending', { ...SAMPLES.window_ending, link: '/my-access', minutesLeft: 1 }, { consoleUrl: 'https://gw.test' });
    assert.match(custom.text, /https:\/\/gw\.test\/my-access/);
    assert.match(custom.subject, /ends in 1 minute:/);
  });

  it('decision and break-glass say what happened', () => {
    const denied = renderEmail('request_decided', { ...SAMPLES.request_decided, decision: 'denied', comment: 'Not during the shutdown.' });
    assert.match(denied.subject, /was denied/);
    assert.match(denied.text, /alice denied your request/);
    const bg = renderEmail('break_glass', { ...SAMPLES.break_glass, user: { username: 'op' } });
    assert.match(bg.subject, /BREAK-GLASS access used by op on SIS-1/);
    assert.match(bg.text, /Every administrator receives this message/);
  });
});

describe('notify helpers', () => {
  it('refuses link-local, metadata and loopback hosts, allows plant networks', () => {
    for (const h of ['169.254.169.254', '[fe80::1]', '[::ffff:169.254.169.254]', '127.0.0.1', 'localhost', 'metadata.google.internal', '[::1]', '0.0.0.0']) assert.ok(restrictedHostReason(h), h);
    for (const h of ['10.20.30.40', '192.168.1.10', '172.16.0.5', 'itsm.plant.example', '[fd12::1]']) assert.equal(restrictedHostReason(h), null, h);
  });

  it('backs off exponentially up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(EMAIL_RETRY, n)), [30_000, 60_000, 120_000, 240_000]);
    assert.equal(backoffMs(EMAIL_RETRY, 30), EMAIL_RETRY.maxDelayMs);
  });

  it('matches event filters', () => {
    assert.ok(eventMatches(['*'], 'request.created'));
    assert.ok(eventMatches(['request.*'], 'request.created'));
    assert.ok(!eventMatches(['request.*'], 'session.started'));
    assert.ok(eventMatches(['session.started', 'break_glass.used'], 'break_glass.used'));
  });
});
