/**
 * Tenet's remote IPAM driver for dockerd. A pool is a Tenet subnet; dockerd asks for it
 * (RequestPool) and for the gateway before the network exists, so both are answered from the
 * request and remembered (state.ts) until CreateNetwork binds them. An endpoint's address is
 * a Tenet `request` reservation with a TTL, which the endpoint claims at CreateEndpoint
 * (ADR 005: "Docker asks IPAM before any endpoint exists"); one never claimed expires.
 * `--ip-range` is kept here, per pool: Tenet networks allocate from the whole subnet, so
 * dockerd's requests without an address are answered with the first free one of the range
 * (an explicit `--ip` may be anywhere in the subnet, as with Docker's own IPAM).
 * Pool ids describe themselves (pool-id.ts): a pool whose record was lost with the state
 * file is rebuilt from its id and the network's binding, which the sync rebuilds from dockerd.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from '../base/async.js';
import { contains, formatIp, parseCidr, parseIp, usableRange, type Cidr } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { validateName, validateSubnet } from '../model/validate.js';
import { boundNetwork, isGone, type DriverContext } from './context.js';
import { refuse } from './options.js';
import type { Handler } from './plugin-server.js';
import { formatPoolId, parsePoolId, type PoolIdFields } from './pool-id.js';
import type { BindingRecord, PoolRecord } from './state.js';

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
  // The checks Tenet's create would make, now: the Tenet network itself is made after dockerd recorded it.
  const subnet = validateSubnet(pool);
  const range = typeof b.SubPool === 'string' && b.SubPool ? ipRange(subnet, b.SubPool) : undefined;
  const id = formatPoolId({ subnet: pool, range, ...namedIn(b.Options) });
  ctx.state.pools.set(id, { id, subnet: pool, aux: [], ...(range ? { range } : {}) });
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
  const pool = await knownPool(ctx, String(b.PoolID ?? ''));
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
  const reserve = (ip: string | undefined) => ctx.controller.reserveAddress(binding.tenant, binding.network!, { ip, owner, ttlSeconds: REQUEST_TTL_SECONDS });
  const r = !wanted && pool.range ? await reserveInRange(ctx, binding.tenant, binding.network!, pool, reserve) : await reserve(wanted);
  return { Address: `${r.ip}/${prefix}`, Data: {} };
}

/** `--ip-range` as a CIDR inside the subnet with at least one usable address. */
function ipRange(subnet: Cidr, text: string): string {
  const range = parseCidr(text);
  const bounds = rangeBounds(subnet, text);
  if (!range || !bounds || range.prefixLen < subnet.prefixLen || !contains(subnet, range.base) || bounds.first > bounds.last) {
    throw new TenetError('INVALID_CIDR', `--ip-range ${text} is not a range of usable addresses inside the subnet`, 'give a CIDR inside --subnet, such as its upper half');
  }
  return text;
}

/** The usable addresses of a range: those of the subnet that fall inside it. */
function rangeBounds(subnet: Cidr, range: string): { first: number; last: number } | undefined {
  const r = parseCidr(range);
  if (!r) return undefined;
  const { first, last } = usableRange(subnet);
  const size = 2 ** (32 - r.prefixLen);
  return { first: Math.max(first, r.base), last: Math.min(last, r.base + size - 1) };
}

/**
 * The first address of the range no one holds. The held ones are listed first; one taken
 * between the list and the reservation is skipped (IP_IN_USE), so the walk stays bounded.
 */
async function reserveInRange<T>(ctx: DriverContext, tenant: string, network: string, pool: PoolRecord, reserve: (ip: string) => Promise<T>): Promise<T> {
  const held = new Set((await ctx.controller.listAddresses(tenant, network)).map((a) => a.ip));
  const { first, last } = rangeBounds(parseCidr(pool.subnet)!, pool.range!)!;
  for (let a = first; a <= last; a++) {
    const ip = formatIp(a);
    if (held.has(ip) || ip === pool.gateway || pool.aux.includes(ip)) continue;
    try {
      return await reserve(ip);
    } catch (err) {
      if (!(err instanceof TenetError && err.code === 'IP_IN_USE')) throw err;
    }
  }
  throw new TenetError('SUBNET_EXHAUSTED', `every address of --ip-range ${pool.range} of network ${network} is in use`, 'remove a container from the network, or create it with a wider --ip-range');
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
  // No wait: an address whose network cannot be told (yet) keeps its reservation until its TTL ends.
  const found = await poolOf(ctx, poolId, false);
  const pool = typeof found === 'object' ? found : undefined;
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

async function knownPool(ctx: DriverContext, id: string): Promise<PoolRecord> {
  const pool = await poolOf(ctx, id, true);
  if (pool === 'ambiguous') throw new TenetError('NETWORK_NOT_FOUND', `IPAM pool ${id} was made before this agent lost its state, and two Tenet networks on this dockerd have its subnet`, 'remove the docker network and create it again with --ipam-driver tenet');
  if (!pool) throw new TenetError('NETWORK_NOT_FOUND', `IPAM pool ${id} is not known to this agent`, 'remove the docker network and create it again with --ipam-driver tenet');
  return pool;
}

/** `--ipam-opt tenant= --ipam-opt network=` (the sync passes them when it mirrors a Tenet network): written into the pool id. */
function namedIn(options: unknown): Pick<PoolIdFields, 'tenant' | 'network'> {
  const o = (options ?? {}) as Record<string, unknown>;
  try {
    return o.tenant && o.network ? { tenant: validateName('tenant', o.tenant), network: validateName('network', o.network) } : {};
  } catch {
    return {}; // not ours to refuse: the pool id just says less
  }
}

/**
 * The pool behind a PoolID: the state file's record, or, when that was lost, one rebuilt
 * from the id and the binding of its network (the sync rebuilds bindings from dockerd's
 * record of the networks; `wait`: give it a bounded moment after a restart).
 */
async function poolOf(ctx: DriverContext, id: string, wait: boolean): Promise<PoolRecord | 'ambiguous' | undefined> {
  const known = ctx.state.pools.get(id);
  const fields = known ? undefined : parsePoolId(id);
  if (known || !fields) return known;
  const deadline = Date.now() + (wait ? ctx.bindWaitMs : 0);
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const b = bindingFor(ctx, fields);
    if (b === 'ambiguous') return b;
    if (b) return rebuiltPool(ctx, id, fields, b);
    if (Date.now() >= deadline) return undefined;
    ctx.kickSync();
    await sleep(delay);
  }
}

/** The bound network a pool id stands for: named in it, else the only one of its subnet on this dockerd. */
function bindingFor(ctx: DriverContext, f: PoolIdFields): BindingRecord | 'ambiguous' | undefined {
  if (f.tenant && f.network) return ctx.state.bindingOf(f.tenant, f.network);
  const same = [...ctx.state.bindings.values()].filter((b) => b.network && b.subnet === f.subnet);
  return same.length > 1 ? 'ambiguous' : same[0];
}

function rebuiltPool(ctx: DriverContext, id: string, f: PoolIdFields, b: BindingRecord): PoolRecord {
  const pool: PoolRecord = { id, subnet: f.subnet, aux: b.aux ?? [], dockerId: b.dockerId, ...(f.range ? { range: f.range } : {}), ...(b.gateway ? { gateway: b.gateway } : {}) };
  ctx.state.pools.set(id, pool);
  b.poolId ??= id;
  ctx.state.save();
  ctx.logger.info({ pool: id, tenant: b.tenant, network: b.network }, 'IPAM pool rebuilt from its id (the driver state had lost it)');
  return pool;
}

function inSubnet(pool: PoolRecord, ip: string): void {
  const addr = parseIp(ip);
  const { first, last } = usableRange(parseCidr(pool.subnet)!);
  if (addr === undefined || !contains(parseCidr(pool.subnet)!, addr) || addr < first || addr > last) {
    throw new TenetError('IP_OUTSIDE_SUBNET', `address ${ip} is not a usable address of ${pool.subnet}`, `give one inside ${pool.subnet}`);
  }
}
