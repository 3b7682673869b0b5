/** The signing key and the signed manifest: verify, then tamper in every way. */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, copyFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRecording, type RecordingResult } from '../../src/server/recording/asciicast.js';
import { loadSigningKey, verifySignature } from '../../src/server/recording/keys.js';
import { readRecording, recoverRecording, sealInterruptedRecording } from '../../src/server/recording/reader.js';
import { canonicalJson, verifyRecording } from '../../src/server/recording/seal.js';
import { type TmpEnv, tmpEnv } from './helpers.js';

describe('recording signing key', () => {
  let env: TmpEnv;
  before(() => {
    env = tmpEnv();
  });
  after(() => env.cleanup());

  it('is created once as a 0600 PKCS#8 Ed25519 PEM in <data>/keys and reused', () => {
    const file = join(env.root, 'data', 'keys', 'recording-ed25519.pem');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(env.root, 'data', 'keys')).mode & 0o777, 0o700);
    assert.match(readFileSync(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    const again = loadSigningKey(join(env.root, 'data'));
    assert.equal(again.keyId, env.signer.keyId);
    assert.equal(again.publicKeyPem, env.signer.publicKeyPem);
    const der = createPublicKey(env.signer.publicKeyPem).export({ type: 'spki', format: 'der' });
    assert.equal(env.signer.keyId, createHash('sha256').update(der).digest('hex').slice(0, 16));
    assert.equal(createPublicKey(env.signer.publicKeyPem).asymmetricKeyType, 'ed25519');
  });

  it('signs and verifies; a changed message, signature or key fails', () => {
    const data = Buffer.from('seal me');
    const sig = env.signer.sign(data);
    assert.equal(Buffer.from(sig, 'base64').length, 64);
    assert.equal(verifySignature(env.signer.publicKeyPem, data, sig), true);
    assert.equal(verifySignature(env.signer.publicKeyPem, Buffer.from('seal mE'), sig), false);
    const bad = Buffer.from(sig, 'base64');
    bad[5] = (bad[5] as number) ^ 1;
    assert.equal(verifySignature(env.signer.publicKeyPem, data, bad.toString('base64')), false);
    assert.equal(verifySignature(env.signer.publicKeyPem, data, 'not base64 at all'), false);
    assert.equal(verifySignature('not a key', data, sig), false);
    const other = loadSigningKey(join(env.root, 'other-data'));
    assert.notEqual(other.keyId, env.signer.keyId);
    assert.equal(verifySignature(other.publicKeyPem, data, sig), false);
  });

  it('refuses a key file that is not Ed25519', () => {
    const dir = join(env.root, 'rsa-data');
    loadSigningKey(dir);
    writeFileSync(join(dir, 'keys', 'recording-ed25519.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey);
    assert.throws(() => loadSigningKey(dir), /must be an Ed25519 private key/);
  });
});

describe('sealed recordings', () => {
  let env: TmpEnv;
  let result: RecordingResult;
  let path: string;
  let original: Buffer;
  let originalManifest: string;
  before(async () => {
    env = tmpEnv();
    const rec = await openRecording({ dir: env.dir, id: 'sealed', width: 80, height: 24, signer: env.signer });
    rec.output('$ ');
    rec.input('systemctl restart plc-bridge\r');
    rec.output('systemctl restart plc-bridge\r\n$ ');
    rec.marker('watcher joined: bob');
    result = await rec.close();
    path = result.path;
    original = readFileSync(path);
    originalManifest = readFileSync(result.manifestPath, 'utf8');
  });
  after(() => env.cleanup());
  const restore = () => {
    writeFileSync(path, original);
    writeFileSync(`${path}.manifest.json`, originalManifest);
  };

  it('writes a signed manifest that verifies', async () => {
    const m = JSON.parse(originalManifest);
    assert.equal(statSync(result.manifestPath).mode & 0o777, 0o600);
    assert.deepEqual(Object.keys(m).sort(), ['bytes', 'endedAt', 'events', 'format', 'keyId', 'recording', 'sha256', 'signature', 'startedAt']);
    assert.equal(m.recording, 'sealed.cast');
    assert.equal(m.sha256, createHash('sha256').update(original).digest('hex'));
    assert.equal(m.bytes, original.length);
    assert.equal(m.events, 4);
    assert.equal(m.keyId, env.signer.keyId);
    const { signature, ...rest } = m;
    assert.equal(verifySignature(env.signer.publicKeyPem, Buffer.from(canonicalJson(rest)), signature), true);
    const v = await verifyRecording(path, env.signer.publicKeyPem);
    assert.equal(v.ok, true, v.message);
    assert.equal(v.ok && v.interrupted, false);
  });

  it('detects one flipped byte as modified', async () => {
    const b = Buffer.from(original);
    const i = b.indexOf('plc-bridge');
    b[i] = (b[i] as number) ^ 0x20;
    writeFileSync(path, b);
    const v = await verifyRecording(path, env.signer.publicKeyPem);
    assert.deepEqual([v.ok, !v.ok && v.reason], [false, 'modified']);
    restore();
  });

  it('detects truncation and appended data', async () => {
    truncateSync(path, original.length - 10);
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem) as { reason: string }).reason, 'truncated');
    truncateSync(path, 0);
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem) as { reason: string }).reason, 'truncated');
    rmSync(path);
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem) as { reason: string }).reason, 'truncated');
    restore();
    appendFileSync(path, '[99.0, "o", "rm -rf /"]\n');
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem) as { reason: string }).reason, 'modified');
    restore();
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem)).ok, true);
  });

  it('detects a tampered, forged or foreign manifest as a bad signature', async () => {
    const m = JSON.parse(originalManifest);
    const reason = async () => {
      const v = await verifyRecording(path, env.signer.publicKeyPem);
      return v.ok ? 'ok' : v.reason;
    };
    // edit a field (e.g. to match an edited recording)
    writeFileSync(`${path}.manifest.json`, JSON.stringify({ ...m, events: 3 }));
    assert.equal(await reason(), 'bad signature');
    writeFileSync(`${path}.manifest.json`, JSON.stringify({ ...m, sha256: '0'.repeat(64) }));
    assert.equal(await reason(), 'bad signature');
    // an added field is covered too
    writeFileSync(`${path}.manifest.json`, JSON.stringify({ ...m, interrupted: true }));
    assert.equal(await reason(), 'bad signature');
    // re-signed with another key (claiming either key id)
    const forger = loadSigningKey(join(env.root, 'forger'));
    const { signature: _s, ...rest } = m;
    for (const keyId of [forger.keyId, m.keyId]) {
      const body = { ...rest, keyId };
      writeFileSync(`${path}.manifest.json`, JSON.stringify({ ...body, signature: forger.sign(Buffer.from(canonicalJson(body))) }));
      assert.equal(await reason(), 'bad signature');
    }
    writeFileSync(`${path}.manifest.json`, '{"recording": "sealed.cast"');
    assert.equal(await reason(), 'bad signature');
    writeFileSync(`${path}.manifest.json`, JSON.stringify({ ...m, signature: undefined }));
    assert.equal(await reason(), 'bad signature');
    rmSync(`${path}.manifest.json`);
    assert.equal(await reason(), 'no manifest');
    restore();
    assert.equal(await reason(), 'ok');
    // a valid manifest next to another recording
    copyFileSync(path, join(env.dir, 'other.cast'));
    copyFileSync(`${path}.manifest.json`, join(env.dir, 'other.cast.manifest.json'));
    const v = await verifyRecording(join(env.dir, 'other.cast'), env.signer.publicKeyPem);
    assert.equal(!v.ok && v.reason, 'modified');
    assert.match(v.message, /seals sealed\.cast/);
  });

  it('never replaces an existing seal', async () => {
    await assert.rejects(sealInterruptedRecording(path, env.signer), /already sealed/);
  });

  it('seals an interrupted recording: cuts the torn line and flags it', async () => {
    const p = join(env.dir, 'torn.cast');
    const body = '{"version":2,"width":80,"height":24,"timestamp":1700000000,"env":{"TERM":"xterm-256color"}}\n'
      + '[0.100000, "o", "$ "]\n[0.500000, "i", "ls\\r"]\n[0.750000, "o", "ls\\r\\nbin  etc\\r\\n"]\n';
    writeFileSync(p, `${body}[1.000000, "o", "half a li`);
    const rec = await recoverRecording(p);
    assert.equal(rec.sealed, false);
    assert.equal(rec.events.length, 3);
    assert.equal(rec.lastTime, 0.75);
    assert.deepEqual(rec.torn, { offset: Buffer.byteLength(body), bytes: Buffer.byteLength('[1.000000, "o", "half a li') });
    assert.equal(rec.startedAt, '2023-11-14T22:13:20.000Z');
    assert.equal((await verifyRecording(p, env.signer.publicKeyPem) as { reason: string }).reason, 'no manifest');
    const sealed = await sealInterruptedRecording(p, env.signer);
    assert.equal(sealed.truncatedBytes, 26);
    assert.equal(readFileSync(p, 'utf8'), body);
    assert.equal(sealed.manifest.interrupted, true);
    assert.equal(sealed.manifest.events, 3);
    assert.equal(sealed.manifest.endedAt, '2023-11-14T22:13:20.750Z');
    const v = await verifyRecording(p, env.signer.publicKeyPem);
    assert.equal(v.ok, true, v.message);
    assert.equal(v.ok && v.interrupted, true);
    assert.equal((await readRecording(p)).torn, null);
  });

  it('keeps a complete last event that only lacks its newline', async () => {
    const p = join(env.dir, 'nonl.cast');
    writeFileSync(p, '{"version":2,"width":80,"height":24}\n[0.1, "o", "a"]\n[0.2, "o", "b"]');
    const r = await readRecording(p);
    assert.deepEqual([r.events.length, r.torn, r.missingFinalNewline], [2, null, true]);
    await sealInterruptedRecording(p, env.signer);
    assert.equal(readFileSync(p, 'utf8').endsWith('"b"]\n'), true);
    assert.equal((await verifyRecording(p, env.signer.publicKeyPem)).ok, true);
  });
});
