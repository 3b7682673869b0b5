import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from './config.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  fingerprint256: string;
  selfSigned: boolean;
}

/** The configured certificate, or a self-signed one made on first start and kept in <data>/tls. */
export async function ensureTls(config: Config): Promise<TlsMaterial> {
  if (config.tls.certFile && config.tls.keyFile) {
    const cert = readFileSync(config.tls.certFile, 'utf8');
    return { cert, key: readFileSync(config.tls.keyFile, 'utf8'), fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned: false };
  }
  const dir = resolve(config.dataDir, 'tls');
  const certFile = resolve(dir, 'gateway.crt');
  const keyFile = resolve(dir, 'gateway.key');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const notAfter = new Date(Date.now() + 825 * 86_400_000);
    const pems = await generate([{ name: 'commonName', value: 'portcullis' }, { name: 'organizationName', value: 'Portcullis gateway (self-signed)' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, ...(config.host !== '127.0.0.1' && config.host !== '0.0.0.0' ? [{ type: 7, ip: config.host }] : [])] },
      ],
    } as never);
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, pems.cert);
  }
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned: true };
}
