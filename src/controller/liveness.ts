/**
 * Host liveness and realization without writes to the watched Host object (issue 6): with a
 * thousand agents each watching hosts, a heartbeat written to the Host object would reach
 * every agent every few seconds. Instead:
 *
 * - A host is up while its "alive" key exists. The key is bound to a store lease the agent
 *   keeps alive (POST /v1/hosts/:name/heartbeat is a keep-alive: no write, no revision, no
 *   event); when the agent falls silent for the lease's TTL the store deletes the key and the
 *   host is down. Its endpoints stay, addresses reserved, until it returns or is evicted.
 * - The revision a host has realized is an internal key too (PUT /v1/hosts/:name/realized).
 *
 * Both live under status/, which is no object kind: watches never carry them to agents.
 */
import type { HostLease, HostState, HostView } from '../api/types.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Host } from '../model/types.js';
import { validateHostName } from '../model/validate.js';
import type { KeyValue, Store } from '../store/types.js';
import { bodyObject, revisionField } from './body.js';
import { requireHost } from './lookups.js';
import { encode, getObj, internalKeys, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

/** One host's answer in a realization (of an endpoint or a policy). */
export interface HostRealized {
  host: string;
  state: HostState;
  realizedRevision: number;
  realized: boolean;
}

/** Three keep-alives (every TTL/3) may be lost before a host goes down. */
export const DEFAULT_HOST_LEASE_MS = 30_000;

/** The value of a host's alive key (bound to `lease`). */
export interface Alive {
  lease: number;
  ttlMs: number;
  /** When the lease was granted: the host is up since then. */
  since: string;
}

/** The value of a host's realized key. */
interface RealizedMark {
  revision: number;
  at: string;
}

export interface Liveness {
  state: HostState;
  since?: string;
  leaseExpiresInMs?: number;
  realizedRevision?: number;
}

/** What registration needs to know of a host's lease: renewed when still alive. */
export interface LeaseRead {
  /** The alive key as read (absent: never registered, or its lease ended and took it). */
  kv?: KeyValue;
  /** The host's live lease, kept alive just now; undefined when it has none. */
  lease?: HostLease;
}

/** A re-registration of a live host keeps its lease (one lease per host, never a pile). */
export async function renewLease(store: Store, name: string): Promise<LeaseRead> {
  const alive = await getObj<Alive>(store, internalKeys.alive(name));
  if (alive && (await store.keepAlive(alive.obj.lease))) return { kv: alive.kv, lease: { id: alive.obj.lease, ttlMs: alive.obj.ttlMs } };
  return { kv: alive?.kv };
}

export function aliveValue(lease: HostLease): string {
  return encode({ lease: lease.id, ttlMs: lease.ttlMs, since: nowIso() } satisfies Alive);
}

/**
 * A keep-alive of the host's own lease only: the alive key must name it, so no host (and no
 * stale agent after a controller restart reused lease ids) keeps another's lease alive.
 */
export async function keepHostAlive(ctx: Ctx, nameParam: string, body: unknown): Promise<void> {
  const name = validateHostName(nameParam);
  const lease = bodyObject(body).lease;
  const alive = await getObj<Alive>(ctx.store, internalKeys.alive(name));
  if (typeof lease === 'number' && alive?.obj.lease === lease && (await ctx.store.keepAlive(lease))) return;
  ctx.log.info({ host: name, lease, current: alive?.obj.lease }, 'heartbeat of a lease that is not the host\'s live lease');
  throw new TenetError('LEASE_EXPIRED', `host ${name} holds no live lease ${JSON.stringify(lease)}`, 'register the host again (its agent does so by itself)');
}

/** Only a registered host reports (compared in the txn: a report never outlives an evict). */
export async function reportRealized(ctx: Ctx, nameParam: string, body: unknown): Promise<void> {
  const name = validateHostName(nameParam);
  const revision = revisionField('revision', bodyObject(body).revision);
  const key = internalKeys.realized(name);
  await retrying(`report the realized revision of host ${name}`, async () => {
    const host = await requireHost(ctx.store, name);
    const prev = await getObj<RealizedMark>(ctx.store, key);
    if (prev?.obj.revision === revision) return true;
    const compares = [{ key: keys.host(name), modRevision: host.kv.modRevision }, { key, modRevision: prev?.kv.modRevision ?? 0 }];
    const res = await ctx.store.txn(compares, [{ type: 'put', key, value: encode({ revision, at: nowIso() } satisfies RealizedMark) }]);
    return res.ok ? true : RETRY;
  });
  ctx.log.debug({ host: name, revision }, 'host realized');
}

/** Every host's liveness and realized revision, by host name (hosts never seen: absent). */
export async function livenessOf(store: Store): Promise<Map<string, Liveness>> {
  const [alive, realized] = await Promise.all([store.list(internalKeys.alives()), store.list(internalKeys.realizeds())]);
  const out = new Map<string, Liveness>();
  const entry = (key: string, prefix: string): Liveness => {
    const name = key.slice(prefix.length);
    const found = out.get(name) ?? { state: 'down' };
    out.set(name, found);
    return found;
  };
  for (const kv of alive.items) {
    const a = JSON.parse(kv.value) as Alive;
    const left = await store.timeToLive(a.lease);
    if (left === undefined) continue; // ended; the store is deleting its key
    Object.assign(entry(kv.key, internalKeys.alives()), { state: 'up', since: a.since, leaseExpiresInMs: Math.round(left) });
  }
  for (const kv of realized.items) entry(kv.key, internalKeys.realizeds()).realizedRevision = (JSON.parse(kv.value) as RealizedMark).revision;
  return out;
}

/** Per host: realized when it is up and has realized `revision` (a down host never has: nobody knows its kernel). */
export function realizedOn(hosts: Iterable<string>, life: Map<string, Liveness>, revision: number): HostRealized[] {
  return [...hosts].map((host) => {
    const { state, realizedRevision = 0 } = life.get(host) ?? { state: 'down' as const };
    return { host, state, realizedRevision, realized: state === 'up' && realizedRevision >= revision };
  });
}

/** The record of each host with its liveness merged in (GET /v1/hosts). */
export async function hostViews(ctx: Ctx): Promise<HostView[]> {
  const [hosts, life] = await Promise.all([listObjs<Host>(ctx.store, keys.hosts()), livenessOf(ctx.store)]);
  return hosts.items.map((h) => {
    const l = life.get(h.name) ?? { state: 'down' };
    const view: HostView = { ...h, state: l.state, since: l.since ?? h.registeredAt ?? '' };
    if (l.leaseExpiresInMs !== undefined) view.leaseExpiresInMs = l.leaseExpiresInMs;
    if (l.realizedRevision !== undefined) view.realizedRevision = l.realizedRevision;
    return view;
  });
}

/** The host's lease if it is alive now (an evict is refused then). */
export async function liveLease(store: Store, alive: Alive | undefined): Promise<number | undefined> {
  return alive && (await store.timeToLive(alive.lease)) !== undefined ? alive.lease : undefined;
}
