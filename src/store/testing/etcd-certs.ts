/**
 * Test certificates for etcd-server.ts, made by the `openssl` CLI like src/cmd/tls.ts does
 * (Node cannot sign X.509 certificates): a CA, and certificates it signs for the server
 * (with IP and DNS SANs) and for a client. For tests and the lab only.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  certPath: string;
  keyPath: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name: string): CertFiles {
  const files = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.keyPath, '-out', files.certPath, '-days', '2', '-subj', `/CN=${name}`]);
  return files;
}

/** A certificate signed by `ca`; `sans` like ['IP:127.0.0.1', 'DNS:localhost']. */
export function makeSignedCert(dir: string, ca: CertFiles, name: string, cn: string, sans: string[] = []): CertFiles {
  const files = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.keyPath, '-out', csr, '-subj', `/CN=${cn}`]);
  const lines = ['extendedKeyUsage = serverAuth, clientAuth', ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : [])];
  writeFileSync(ext, `${lines.join('\n')}\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-out', files.certPath, '-days', '2', '-extfile', ext]);
  return files;
}
