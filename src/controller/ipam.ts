/**
 * IP address management for endpoints. An address is taken by creating keys.ip(networkId, ip)
 * (value: the endpoint id) in the same txn as the endpoint, compared absent, so two attaches,
 * on one controller or on two, can never get the same address, with no lock.
 *
 * The first attempt takes the lowest free address (predictable: .2, .3, ... after a .1
 * gateway). After losing a race, every loser would pick the same next address again, so a
 * retry starts its scan at a random point of the range instead; many concurrent attaches
 * then spread out and finish in a few rounds instead of one round per attach.
 */
import { formatCidr, formatIp, parseCidr, parseIp, usableRange, type Cidr } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Network } from '../model/types.js';
import type { Store } from '../store/types.js';

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

/** The first free address at or after `start`, wrapping around; undefined when there is none. */
export function nextFree(pool: Pool, used: ReadonlySet<number>, start = pool.first): number | undefined {
  const size = pool.last - pool.first + 1;
  for (let i = 0; i < size; i++) {
    const ip = pool.first + ((start - pool.first + i) % size);
    if (ip !== pool.gateway && !used.has(ip)) return ip;
  }
  return undefined;
}

export function randomStart(pool: Pool): number {
  return pool.first + Math.floor(Math.random() * (pool.last - pool.first + 1));
}

/** The address for a new endpoint: the requested one if it is assignable and free, else a free one. */
export async function pickAddress(store: Store, network: Network, requested: number | undefined, attempt: number): Promise<string> {
  const pool = poolOf(network);
  if (requested !== undefined) return checkRequested(store, network, pool, requested);
  const prefix = keys.ipsOf(network.id);
  const held = (await store.list(prefix)).items;
  const used = new Set(held.map((kv) => parseIp(kv.key.slice(prefix.length)) ?? -1));
  const ip = nextFree(pool, used, attempt === 0 ? pool.first : randomStart(pool));
  if (ip === undefined) {
    throw new TenetError(
      'SUBNET_EXHAUSTED',
      `network ${network.name} of tenant ${network.tenant} has no free address left in ${network.subnet} (${held.length} endpoints)`,
      'delete unused endpoints, or create a network with a larger subnet',
    );
  }
  return formatIp(ip);
}

async function checkRequested(store: Store, network: Network, pool: Pool, ip: number): Promise<string> {
  const text = formatIp(ip);
  if (!isAssignable(pool, ip)) {
    throw new TenetError(
      'IP_OUTSIDE_SUBNET',
      `address ${text} is not a usable endpoint address of network ${network.name} (${formatCidr(pool.subnet)}, gateway ${network.gateway})`,
      `pick one from ${formatIp(pool.first)} to ${formatIp(pool.last)} other than the gateway, or leave it out`,
    );
  }
  const kv = await store.get(keys.ip(network.id, text));
  if (kv) {
    throw new TenetError('IP_IN_USE', `address ${text} of network ${network.name} is held by endpoint ${kv.value}`, 'pick another address, or leave it out to get a free one');
  }
  return text;
}
