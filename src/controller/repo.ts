/**
 * Typed access to the store for the controller. Objects are stored as JSON under the keys of
 * model/keys.ts; every read returns the object together with its KeyValue so that writes can
 * be conditional on the modRevision that was read (optimistic concurrency, no locks). A write
 * that loses a race returns RETRY and the whole read-check-write step runs again, so checks
 * such as "the name is free" are always re-made against the state the write applies to.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { ROOT } from '../model/keys.js';
import type { KeyValue, Store } from '../store/types.js';

/** What every route module receives: the store and the injected logger. */
export interface Ctx {
  store: Store;
  log: Logger;
}

export interface Stored<T> {
  obj: T;
  kv: KeyValue;
}

/**
 * Controller-internal keys. They live under alloc/ and status/, which kindOfKey() does not
 * map to an object kind, so watches never show them to agents.
 */
export const internalKeys = {
  vnis: () => `${ROOT}alloc/vni/`,
  /** Rewritten by every network create in a tenant: serializes them (see networks-create.ts). */
  networkGen: (tenantId: string) => `${ROOT}alloc/netgen/${tenantId}`,
  /** Present while a network or host is being deleted (see guard.ts). */
  deleting: (kind: 'network' | 'host', id: string) => `${ROOT}alloc/deleting/${kind}/${id}`,
  /** A host is up while this key exists: it is bound to the host's lease (liveness.ts). */
  alive: (host: string) => `${ROOT}status/alive/${host}`,
  alives: () => `${ROOT}status/alive/`,
  /** The store revision a host's agent last reported realized (liveness.ts). */
  realized: (host: string) => `${ROOT}status/realized/${host}`,
  realizeds: () => `${ROOT}status/realized/`,
  /** What an agent reclaimed, by time then endpoint id: key order is time order (reclaimed.ts). */
  reclaimed: (atMs: number, id: string) => `${ROOT}status/reclaimed/${String(atMs).padStart(15, '0')}-${id}`,
  reclaimeds: () => `${ROOT}status/reclaimed/`,
};

export async function getObj<T>(store: Store, key: string): Promise<Stored<T> | undefined> {
  const kv = await store.get(key);
  return kv ? { obj: JSON.parse(kv.value) as T, kv } : undefined;
}

export async function listObjs<T>(store: Store, prefix: string, revision?: number): Promise<{ revision: number; items: T[] }> {
  const res = await store.list(prefix, revision);
  return { revision: res.revision, items: res.items.map((kv) => JSON.parse(kv.value) as T) };
}

export const encode = (obj: unknown): string => JSON.stringify(obj);
export const nowIso = (): string => new Date().toISOString();
/** 12 lowercase hex characters: short enough to read in logs, 48 random bits. */
export const newId = (): string => randomBytes(6).toString('hex');

export const RETRY = Symbol('retry');
export const MAX_ATTEMPTS = 32;

/**
 * Runs `attempt` until it returns something other than RETRY. After a few quick retries it
 * backs off with jitter so that writers in other controller replicas can make progress.
 */
export async function retrying<T>(what: string, attempt: (n: number) => Promise<T | typeof RETRY>): Promise<T> {
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    const result = await attempt(n);
    if (result !== RETRY) return result;
    if (n >= 4) await sleep(Math.random() * Math.min(n, 20));
  }
  throw new TenetError('STORE_CONFLICT', `${what}: other writers kept changing the same objects`, 'try again');
}
