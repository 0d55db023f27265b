/**
 * IP address management (ADR 005). An address is a reservation: the key keys.addr(networkId,
 * ip), created absent-compared in the same txn as whatever owns it (an endpoint, a Docker
 * IPAM request, the gateway, later a floating IP), so two writers, on one controller or on
 * two, can never hold the same address, with no lock.
 *
 * Finding a free address must not cost more as a network fills: address keys are 8 hex
 * digits, so key order is address order, and a search reads one page of keys from a start
 * point onward (Store.list with from/limit) and takes the first gap. The start point is the
 * network's cursor, the address after the last one handed out: a hint written without a
 * compare, so it never serializes attaches. In the common case one page of at most a few
 * keys is read, whether 10 or 60,000 addresses are in use (ipam-cost.test.ts measures it).
 * Addresses freed behind the cursor are reused once the cursor wraps, which also keeps a
 * just-released address (still in peers' ARP caches) out of use for a while.
 *
 * After losing a race, every loser would pick the same next address again, so a retry
 * starts at a random point of the range; many concurrent attaches then spread out.
 */
import { formatCidr, formatIp, parseCidr, parseIp, usableRange, type Cidr } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Network } from '../model/types.js';
import type { KeyValue, Store } from '../store/types.js';

export type OwnerKind = 'endpoint' | 'request' | 'gateway' | 'floating-ip';

export interface Owner {
  kind: OwnerKind;
  id: string;
}

/** The value of an address key. */
export interface Reservation {
  ip: string;
  owner: Owner;
  createdAt: string;
  /** Request reservations may expire: the garbage collector (gc.ts) then releases them. */
  expiresAt?: string;
}

/** Keys read per page of a free-address search. */
export const PAGE = 32;

export interface Pool {
  subnet: Cidr;
  gateway: number;
  first: number;
  last: number;
}

export function poolOf(network: Network): Pool {
  const subnet = parseCidr(network.subnet)!;
  return { subnet, gateway: parseIp(network.gateway)!, ...usableRange(subnet) };
}

export function isAssignable(pool: Pool, ip: number): boolean {
  return ip >= pool.first && ip <= pool.last && ip !== pool.gateway;
}

export function randomStart(pool: Pool): number {
  return pool.first + Math.floor(Math.random() * (pool.last - pool.first + 1));
}

export const ipOfKey = (key: string): number => parseInt(key.slice(key.lastIndexOf('/') + 1), 16);
export const parseReservation = (kv: KeyValue): Reservation => JSON.parse(kv.value) as Reservation;

/** The first free assignable address in [from, to], reading pages of keys; undefined if none. */
async function freeIn(store: Store, network: Network, pool: Pool, from: number, to: number): Promise<number | undefined> {
  const prefix = keys.addrsOf(network.id);
  let at = from;
  while (at <= to) {
    const page = (await store.list(prefix, undefined, { from: keys.addr(network.id, at), limit: PAGE })).items;
    for (const kv of page) {
      const held = ipOfKey(kv.key);
      for (; at < held && at <= to; at++) if (isAssignable(pool, at)) return at;
      at = Math.max(at, held + 1);
    }
    if (page.length < PAGE) break;
  }
  for (; at <= to; at++) if (isAssignable(pool, at)) return at;
  return undefined;
}

/** A free address from `start`, wrapping around once; undefined when the pool is full. */
export async function findFree(store: Store, network: Network, start: number): Promise<number | undefined> {
  const pool = poolOf(network);
  const s = Math.min(Math.max(start, pool.first), pool.last);
  return (await freeIn(store, network, pool, s, pool.last)) ?? (s > pool.first ? await freeIn(store, network, pool, pool.first, s - 1) : undefined);
}

export async function cursorStart(store: Store, network: Network, attempt: number): Promise<number> {
  const pool = poolOf(network);
  if (attempt > 0) return randomStart(pool);
  const cursor = await store.get(keys.addrCursor(network.id));
  const next = cursor ? parseInt(cursor.value, 16) + 1 : pool.first;
  return Number.isFinite(next) && next <= pool.last ? next : pool.first;
}

/** An address chosen for a new holder; `claim` is a request reservation it takes over. */
export interface Picked {
  ip: number;
  claim?: KeyValue;
}

/** The address for a new holder: the requested one if it is assignable and free (or held by a request), else a free one. */
export async function pickAddress(store: Store, network: Network, requested: number | undefined, attempt: number): Promise<Picked> {
  if (requested !== undefined) return checkRequested(store, network, requested, true);
  const ip = await findFree(store, network, await cursorStart(store, network, attempt));
  if (ip === undefined) {
    throw new TenetError(
      'SUBNET_EXHAUSTED',
      `network ${network.name} of tenant ${network.tenant} has no free address left in ${network.subnet}`,
      'delete unused endpoints or release reserved addresses (tenet ip ls), or create a network with a larger subnet',
    );
  }
  return { ip };
}

/** A requested address: usable, and free or (if claimable) held by a request that has not expired. */
export async function checkRequested(store: Store, network: Network, ip: number, claimable: boolean): Promise<Picked> {
  const pool = poolOf(network);
  const text = formatIp(ip);
  if (!isAssignable(pool, ip)) {
    throw new TenetError(
      'IP_OUTSIDE_SUBNET',
      `address ${text} is not a usable endpoint address of network ${network.name} (${formatCidr(pool.subnet)}, gateway ${network.gateway})`,
      `pick one from ${formatIp(pool.first)} to ${formatIp(pool.last)} other than the gateway, or leave it out`,
    );
  }
  const kv = await store.get(keys.addr(network.id, ip));
  if (!kv) return { ip };
  const r = parseReservation(kv);
  if (claimable && r.owner.kind === 'request' && !isExpired(r, Date.now())) return { ip, claim: kv };
  throw new TenetError('IP_IN_USE', `address ${text} of network ${network.name} is held by ${ownerText(r.owner)}`, 'pick another address, or leave it out to get a free one');
}

export function isExpired(r: Reservation, now: number): boolean {
  return r.expiresAt !== undefined && Date.parse(r.expiresAt) <= now;
}

export function ownerText(o: Owner): string {
  return o.kind === 'gateway' ? 'the gateway' : `${o.kind} ${o.id}`;
}

export function reservation(ip: number, owner: Owner, createdAt: string, expiresAt?: string): Reservation {
  return { ip: formatIp(ip), owner, createdAt, ...(expiresAt ? { expiresAt } : {}) };
}
