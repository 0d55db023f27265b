/**
 * The controller's TLS material in DATA_DIR/tls, made on the first start with a TCP listener
 * (ADR 006): a CA of its own (key + certificate) and a server certificate it signs, whose
 * SANs are the listen address, 127.0.0.1, ::1, localhost, the hostname and every --tls-san.
 *
 * Node can make keys but not X.509 certificates, so the certificates are signed by the
 * `openssl` CLI (Debian's openssl package) rather than a new npm dependency. Keys are made
 * by Node and written 0600 before openssl ever reads them. The server certificate is made
 * again (with the same CA, so agents keep trusting it) when a SAN is missing or it is near
 * its end; the CA is never replaced behind the operator's back.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { caCertHash } from '../api/credentials.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { writeSecretFile } from './secrets.js';

export interface ControllerTls {
  key: string;
  cert: string;
  caPem: string;
  caHash: string;
  caPath: string;
}

const CA_DAYS = 3650;
const SERVER_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

export function ensureControllerTls(dataDir: string, listenHost: string, extraSans: string[], logger: Logger): ControllerTls {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { caKey: join(dir, 'ca.key'), caCert: join(dir, 'ca.crt'), key: join(dir, 'server.key'), cert: join(dir, 'server.crt') };
  const sans = serverSans(listenHost, extraSans);
  if (ensureCa(paths.caKey, paths.caCert)) logger.info({ ca: paths.caCert }, 'created the controller CA');
  const caPem = readFileSync(paths.caCert, 'utf8');
  if (!serverCertFits(paths.cert, caPem, sans)) {
    if (!existsSync(paths.key)) writeSecretFile(paths.key, newKeyPem());
    signServerCert(dir, paths, sans);
    logger.info({ cert: paths.cert, sans }, 'issued the controller server certificate');
  }
  return { key: readFileSync(paths.key, 'utf8'), cert: readFileSync(paths.cert, 'utf8'), caPem, caHash: caCertHash(caPem), caPath: paths.caCert };
}

/** Validated SANs: they go into an openssl config file, so nothing but names and addresses. */
export function serverSans(listenHost: string, extra: string[]): string[] {
  const wildcard = listenHost === '' || listenHost === '0.0.0.0' || listenHost === '::';
  const all = [...(wildcard ? [] : [listenHost]), '127.0.0.1', '::1', 'localhost', hostname(), ...extra];
  for (const san of all) {
    if (!isIP(san) && !DNS_NAME.test(san)) throw new TenetError('TLS_SETUP_FAILED', `invalid --tls-san ${JSON.stringify(san)}`, 'give a DNS name or an IP address');
  }
  return [...new Set(all)];
}

function ensureCa(keyPath: string, certPath: string): boolean {
  const hasKey = existsSync(keyPath);
  if (hasKey !== existsSync(certPath)) {
    throw new TenetError('TLS_SETUP_FAILED', `only one of ${keyPath} and ${certPath} exists`, 'restore the other, or move both away to make a new CA (every agent must then join again)');
  }
  if (hasKey) return false;
  writeSecretFile(keyPath, newKeyPem());
  withConfig(dirname(keyPath), [], (cnf) =>
    openssl(['req', '-x509', '-new', '-key', keyPath, '-sha256', '-days', String(CA_DAYS), '-subj', `/CN=Tenet CA ${hostname()}`, '-config', cnf, '-extensions', 'v3_ca', '-out', certPath]),
  );
  return true;
}

function serverCertFits(certPath: string, caPem: string, sans: string[]): boolean {
  if (!existsSync(certPath)) return false;
  const cert = new X509Certificate(readFileSync(certPath));
  const ca = new X509Certificate(caPem);
  const covers = (san: string) => (isIP(san) ? cert.checkIP(san) : cert.checkHost(san)) !== undefined;
  return cert.verify(ca.publicKey) && Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS && sans.every(covers);
}

function signServerCert(dir: string, p: { caKey: string; caCert: string; key: string; cert: string }, sans: string[]): void {
  withConfig(dir, sans, (cnf, tmp) => {
    const csr = join(tmp, 'server.csr');
    openssl(['req', '-new', '-key', p.key, '-subj', '/CN=tenet-controller', '-config', cnf, '-out', csr]);
    const serial = `0x${(randomBytes(16)[0]! & 0x7f).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;
    const out = join(tmp, 'server.crt');
    openssl(['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-set_serial', serial, '-days', String(SERVER_DAYS), '-sha256', '-extfile', cnf, '-extensions', 'v3_server', '-out', out]);
    writeFileSync(p.cert, readFileSync(out), { mode: 0o644 });
  });
}

/** Runs `fn` with an openssl config in a private temporary directory, then removes it. */
function withConfig(dir: string, sans: string[], fn: (cnf: string, tmp: string) => void): void {
  const tmp = mkdtempSync(join(dir, '.openssl-'));
  try {
    const alt = sans.map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
    const cnf = join(tmp, 'openssl.cnf');
    writeFileSync(cnf, [
      '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]',
      '[v3_ca]', 'basicConstraints = critical,CA:TRUE,pathlen:0', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash',
      '[v3_server]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', ...(alt ? [`subjectAltName = ${alt}`] : []), '',
    ].join('\n'));
    fn(cnf, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new TenetError('TLS_SETUP_FAILED', 'openssl is not installed, and the controller needs it to make its certificates', 'install the openssl package (scripts/install-deps.sh does)');
    const detail = (e.stderr?.toString() ?? e.message).trim().split('\n')[0];
    throw new TenetError('TLS_SETUP_FAILED', `openssl ${args[0]} failed: ${detail}`, 'check DATA_DIR/tls; the server log has the command');
  }
}

const newKeyPem = (): string => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
