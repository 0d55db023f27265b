/**
 * Tenet's remote IPAM driver for dockerd. A pool is a Tenet subnet; dockerd asks for it
 * (RequestPool) and for the gateway before the network exists, so both are answered from the
 * request and remembered (state.ts) until CreateNetwork binds them. An endpoint's address is
 * a Tenet `request` reservation with a TTL, which the endpoint claims at CreateEndpoint
 * (ADR 005: "Docker asks IPAM before any endpoint exists"); one never claimed expires.
 */
import { randomBytes } from 'node:crypto';
import { contains, formatIp, parseCidr, parseIp, usableRange } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { boundNetwork, isGone, type DriverContext } from './context.js';
import { refuse } from './options.js';
import type { Handler } from './plugin-server.js';
import type { PoolRecord } from './state.js';

const GATEWAY_REQUEST = 'com.docker.network.gateway';
/** Long enough for dockerd to go from RequestAddress to CreateEndpoint, even on a loaded host. */
export const REQUEST_TTL_SECONDS = 120;

export function ipamHandlers(ctx: DriverContext): Record<string, Handler> {
  return {
    '/IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    '/IpamDriver.GetDefaultAddressSpaces': () => ({ LocalDefaultAddressSpace: 'tenet', GlobalDefaultAddressSpace: 'tenet-global' }),
    '/IpamDriver.RequestPool': (b) => requestPool(ctx, b),
    '/IpamDriver.ReleasePool': (b) => releasePool(ctx, String(b.PoolID ?? '')),
    '/IpamDriver.RequestAddress': (b) => requestAddress(ctx, b),
    '/IpamDriver.ReleaseAddress': (b) => releaseAddress(ctx, String(b.PoolID ?? ''), String(b.Address ?? '')),
  };
}

function requestPool(ctx: DriverContext, b: Record<string, unknown>) {
  if (b.V6 === true) refuse('Tenet networks are IPv4 only', 'leave out --ipv6');
  const pool = typeof b.Pool === 'string' ? b.Pool : '';
  if (!pool) refuse('a Tenet network needs a subnet', 'give --subnet CIDR (tenet net ls shows the subnets in use)');
  if (b.SubPool) refuse('--ip-range is not supported: Tenet allocates from the whole subnet', 'leave it out; keep addresses free with --aux-address or `tenet ip reserve`');
  if (!parseCidr(pool)) throw new TenetError('INVALID_CIDR', `invalid subnet ${pool}`, 'give a network such as 192.168.10.0/24 (host bits clear)');
  const id = `tenet-${randomBytes(8).toString('hex')}`;
  ctx.state.pools.set(id, { id, subnet: pool, aux: [] });
  ctx.state.save();
  return { PoolID: id, Pool: pool, Data: {} };
}

/** A pool no network took (a rolled-back create) is forgotten; a network's goes with DeleteNetwork. */
function releasePool(ctx: DriverContext, id: string) {
  const pool = ctx.state.pools.get(id);
  if (pool && !pool.dockerId) {
    ctx.state.pools.delete(id);
    ctx.state.save();
  }
  return {};
}

async function requestAddress(ctx: DriverContext, b: Record<string, unknown>) {
  const pool = knownPool(ctx, String(b.PoolID ?? ''));
  const wanted = typeof b.Address === 'string' && b.Address ? b.Address : undefined;
  const prefix = parseCidr(pool.subnet)!.prefixLen;
  const options = (b.Options ?? {}) as Record<string, unknown>;
  if (options.RequestAddressType === GATEWAY_REQUEST) return { Address: `${gatewayOf(ctx, pool, wanted)}/${prefix}`, Data: {} };
  // Before CreateNetwork, an address request is an --aux-address: kept out of allocation once bound.
  if (!pool.dockerId) {
    inSubnet(pool, wanted ?? '');
    pool.aux.push(wanted!);
    ctx.state.save();
    return { Address: `${wanted}/${prefix}`, Data: {} };
  }
  const { binding } = await boundNetwork(ctx, pool.dockerId);
  const owner = { kind: 'request' as const, id: `docker-${randomBytes(6).toString('hex')}` };
  const r = await ctx.controller.reserveAddress(binding.tenant, binding.network!, { ip: wanted, owner, ttlSeconds: REQUEST_TTL_SECONDS });
  return { Address: `${r.ip}/${prefix}`, Data: {} };
}

/** The gateway: the bound Tenet network's, else the one asked for, else the first usable address. */
function gatewayOf(ctx: DriverContext, pool: PoolRecord, wanted: string | undefined): string {
  const bound = pool.dockerId ? ctx.state.bindings.get(pool.dockerId) : undefined;
  const gateway = bound?.gateway ?? wanted ?? formatIp(usableRange(parseCidr(pool.subnet)!).first);
  if (wanted && wanted !== gateway) refuse(`the Tenet network's gateway is ${gateway}, not ${wanted}`, `leave out --gateway, or give --gateway ${gateway}`);
  inSubnet(pool, gateway);
  pool.gateway = gateway;
  ctx.state.save();
  return gateway;
}

async function releaseAddress(ctx: DriverContext, poolId: string, address: string) {
  const pool = ctx.state.pools.get(poolId);
  const binding = pool?.dockerId ? ctx.state.bindings.get(pool.dockerId) : undefined;
  // Unknown pools (after a rollback), the gateway and aux addresses: nothing to release here.
  if (!pool || !binding?.network || address === pool.gateway || pool.aux.includes(address)) return {};
  try {
    await ctx.controller.releaseAddress(binding.tenant, binding.network, address);
  } catch (err) {
    // Normally the endpoint released it with DeleteEndpoint; an address now held by another endpoint is not ours.
    if (!isGone(err) && !(err instanceof TenetError && err.code === 'IP_IN_USE')) ctx.logger.warn({ address, err: (err as Error).message }, 'docker ReleaseAddress could not release');
  }
  return {};
}

function knownPool(ctx: DriverContext, id: string): PoolRecord {
  const pool = ctx.state.pools.get(id);
  if (!pool) throw new TenetError('NETWORK_NOT_FOUND', `IPAM pool ${id} is not known to this agent`, 'remove the docker network and create it again with --ipam-driver tenet');
  return pool;
}

function inSubnet(pool: PoolRecord, ip: string): void {
  const addr = parseIp(ip);
  const { first, last } = usableRange(parseCidr(pool.subnet)!);
  if (addr === undefined || !contains(parseCidr(pool.subnet)!, addr) || addr < first || addr > last) {
    throw new TenetError('IP_OUTSIDE_SUBNET', `address ${ip} is not a usable address of ${pool.subnet}`, `give one inside ${pool.subnet}`);
  }
}
