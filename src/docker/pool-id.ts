/**
 * Self-describing IPAM pool ids. dockerd keeps the PoolID RequestPool answered and passes
 * only that id to RequestAddress, ReleaseAddress and ReleasePool, for the network's whole
 * life, across agent restarts. An id that says which subnet (and `--ip-range`, and the Tenet
 * network when RequestPool was told it) lets the driver find its network again after its
 * state file (state.ts) is lost, from dockerd's record of the networks and the controller.
 *
 *   tenet-pool:<subnet>:<range or empty>:<tenant or empty>:<network or empty>:<nonce>
 *
 * Tenet names and CIDRs hold no ':', so the fields split unambiguously. The nonce keeps two
 * pools of one subnet (a rolled-back create and its retry) apart. Pure: unit-tested.
 */
import { randomBytes } from 'node:crypto';

export interface PoolIdFields {
  subnet: string;
  range?: string;
  tenant?: string;
  network?: string;
}

const PREFIX = 'tenet-pool';

export function formatPoolId(f: PoolIdFields, nonce = randomBytes(4).toString('hex')): string {
  return [PREFIX, f.subnet, f.range ?? '', f.tenant ?? '', f.network ?? '', nonce].join(':');
}

/** The fields of an id this driver made; undefined for anything else (an older `tenet-<hex>` id, garbage). */
export function parsePoolId(id: string): PoolIdFields | undefined {
  const parts = id.split(':');
  if (parts.length !== 6 || parts[0] !== PREFIX || !parts[1]) return undefined;
  const [, subnet, range, tenant, network] = parts as [string, string, string, string, string];
  return { subnet, ...(range ? { range } : {}), ...(tenant && network ? { tenant, network } : {}) };
}
