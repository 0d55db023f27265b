/**
 * Opens the controller's store from its flags (ADR 021): by default, and with `--store
 * sqlite`, the embedded SQLite store in the data directory; with `--store etcd://h1:2379,...`
 * an etcd cluster (`etcds://`, or any --etcd-* flag, for TLS: --etcd-ca FILE, and
 * --etcd-cert/--etcd-key FILE for a client certificate). Every piece is checked before
 * anything is opened, and etcd must answer within a few seconds: a bad flag or an unreachable
 * store is one clear line at start, never a controller that retries for ever.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { TenetError } from '../model/errors.js';
import { EtcdStore, type EtcdConnection } from './etcd.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export interface StoreFlags {
  dataDir: string;
  /** undefined or 'sqlite', or etcd://host:port,... / etcds://host:port,... */
  store?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export type StoreSpec = { backend: 'sqlite'; dataDir: string } | { backend: 'etcd'; url: string; conn: EtcdConnection };

export interface OpenedStore {
  store: Store;
  backend: 'sqlite' | 'etcd';
  /** Where the store is, for logs and messages: the data dir, or the etcd address. */
  where: string;
}

/** How long etcd has to answer at start. */
export const STORE_CONNECT_TIMEOUT_MS = 5000;

const EXAMPLE = 'e.g. --store etcd://10.0.0.1:2379,10.0.0.2:2379';
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function invalid(message: string, fix: string): TenetError {
  return new TenetError('STORE_CONFIG_INVALID', message, fix);
}

export function parseStoreFlags(flags: StoreFlags): StoreSpec {
  const store = flags.store ?? 'sqlite';
  const etcdFlags = (['etcdCa', 'etcdCert', 'etcdKey'] as const).filter((f) => flags[f] !== undefined);
  if (store === 'sqlite') {
    if (etcdFlags.length > 0) throw invalid(`--${kebab(etcdFlags[0]!)} only applies to an etcd store`, `add --store etcd://host:port,... or drop the flag`);
    return { backend: 'sqlite', dataDir: flags.dataDir };
  }
  const m = /^(etcds?):\/\/(.*)$/.exec(store);
  if (!m) throw invalid(`--store ${store} is neither sqlite nor an etcd address`, `use --store sqlite (the default) or ${EXAMPLE}`);
  const hosts = m[2]!.split(',').map((h) => h.trim());
  hosts.forEach(checkHostPort);
  const tls = m[1] === 'etcds' || etcdFlags.length > 0 ? readTls(flags) : undefined;
  const scheme = tls ? 'https' : 'http';
  return { backend: 'etcd', url: `${tls ? 'etcds' : 'etcd'}://${hosts.join(',')}`, conn: { endpoints: hosts.map((h) => `${scheme}://${h}`), tls } };
}

function checkHostPort(hostPort: string): void {
  const fix = `write each member as host:port, ${EXAMPLE}`;
  if (hostPort === '') throw invalid('--store has an empty etcd address (a stray comma?)', fix);
  const i = hostPort.lastIndexOf(':');
  const [host, portText] = i < 0 ? [hostPort, ''] : [hostPort.slice(0, i), hostPort.slice(i + 1)];
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw invalid(`--store member ${hostPort} has no valid port (1-65535)`, fix);
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const ok = isIP(bare) === 4 || (isIP(bare) === 6 && host.startsWith('[')) || HOSTNAME.test(host);
  if (!ok) throw invalid(`--store member ${hostPort} has an invalid host ${host}`, `${fix}; an IPv6 address goes in brackets: [fd00::1]:2379`);
}

function readTls(flags: StoreFlags): NonNullable<EtcdConnection['tls']> {
  if (!flags.etcdCa) throw invalid('an etcd store over TLS needs --etcd-ca FILE', "give the CA that signed the etcd members' certificates");
  if ((flags.etcdCert === undefined) !== (flags.etcdKey === undefined)) {
    throw invalid('--etcd-cert and --etcd-key go together', 'give both (a client certificate and its key) or neither');
  }
  return { ca: readFlagFile('etcd-ca', flags.etcdCa), cert: flags.etcdCert ? readFlagFile('etcd-cert', flags.etcdCert) : undefined, key: flags.etcdKey ? readFlagFile('etcd-key', flags.etcdKey) : undefined };
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    const data = readFileSync(path);
    if (!data.toString().includes('-----BEGIN')) throw new Error('not a PEM file');
    return data;
  } catch (err) {
    throw invalid(`cannot read --${flag} ${path}: ${(err as Error).message}`, 'give a readable PEM file');
  }
}

function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Opens the store the flags name; etcd must answer within STORE_CONNECT_TIMEOUT_MS. */
export async function openStore(flags: StoreFlags, timeoutMs = STORE_CONNECT_TIMEOUT_MS): Promise<OpenedStore> {
  const spec = parseStoreFlags(flags);
  if (spec.backend === 'sqlite') return { store: openSqliteStore(spec.dataDir), backend: 'sqlite', where: spec.dataDir };
  const store = new EtcdStore({ ...spec.conn, callTimeoutMs: timeoutMs });
  try {
    await withTimeout(store.ping(), timeoutMs);
  } catch (err) {
    await store.close();
    throw new TenetError('STORE_UNAVAILABLE', `cannot reach the store at ${spec.url}: ${reason(err)}`, 'check --store, that etcd runs there, and the --etcd-* certificates');
  }
  await store.close();
  return { store: new EtcdStore(spec.conn), backend: 'etcd', where: spec.url };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.replace(/^\w+Error: /, '');
}
