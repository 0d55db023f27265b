/**
 * Tenet's remote network driver for dockerd (protocols.md §2). Scope `local` (ADR 014): each
 * dockerd keeps its own record of a network, bound here to one Tenet network, which is what
 * makes it the same network on every host.
 *
 * CreateNetwork creates (or adopts) the Tenet network when it can name it: with `-o
 * network=N` (what the network sync passes when it mirrors a Tenet network into dockerd).
 * Otherwise dockerd never tells a driver the network's name (libnetwork's CreateNetwork
 * request carries only the id, the options and the IPAM data), so the checks that can fail
 * the create run here (options, VNI; with `-o tenant=` also the tenant and a subnet clash)
 * and the Tenet network is made a moment later by the sync, which reads the name from
 * dockerd (network-sync.ts). Without `-o tenant=` the tenant may be in the name (Contiv's
 * NAME/TENANT), so its checks wait for the sync; a refusal there removes the docker network. Endpoints are
 * Tenet endpoints whose id is Docker's EndpointID; Join is a handoff attach (ADR 005).
 */
import { overlaps, parseCidr } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import type { Network } from '../model/types.js';
import { boundNetwork, isGone, requireGrant, type DriverContext } from './context.js';
import { parseNetworkOptions, refuse, type NetworkOptions } from './options.js';
import { portsFromOptions } from './port-bindings.js';
import type { Handler } from './plugin-server.js';
import type { BindingRecord } from './state.js';

interface IpamData {
  Pool?: string;
  Gateway?: string;
  AuxAddresses?: Record<string, string> | null;
}

export function networkHandlers(ctx: DriverContext): Record<string, Handler> {
  const ids = (b: Record<string, unknown>) => ({ network: String(b.NetworkID ?? ''), endpoint: String(b.EndpointID ?? '') });
  return {
    '/Plugin.Activate': () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    '/NetworkDriver.GetCapabilities': () => ({ Scope: 'local', ConnectivityScope: 'local' }),
    '/NetworkDriver.CreateNetwork': (b) => createNetwork(ctx, b),
    '/NetworkDriver.DeleteNetwork': (b) => deleteNetwork(ctx, ids(b).network),
    '/NetworkDriver.CreateEndpoint': (b) => createEndpoint(ctx, b),
    '/NetworkDriver.DeleteEndpoint': (b) => tolerant(ctx.agent.remove(ids(b).endpoint)),
    '/NetworkDriver.Join': (b) => join(ctx, ids(b).network, ids(b).endpoint),
    '/NetworkDriver.Leave': (b) => tolerant(ctx.agent.detach(ids(b).endpoint)),
    '/NetworkDriver.EndpointOperInfo': () => ({ Value: {} }),
    '/NetworkDriver.ProgramExternalConnectivity': (b) => programExternalConnectivity(ctx, b),
    '/NetworkDriver.RevokeExternalConnectivity': (b) => revokeExternalConnectivity(ctx, b),
    '/NetworkDriver.DiscoverNew': () => ({}),
    '/NetworkDriver.DiscoverDelete': () => ({}),
    '/NetworkDriver.AllocateNetwork': () => ({ Options: {} }),
    '/NetworkDriver.FreeNetwork': () => ({}),
  };
}

async function createNetwork(ctx: DriverContext, b: Record<string, unknown>) {
  const dockerId = String(b.NetworkID ?? '');
  const opts = parseNetworkOptions(b.Options);
  const ipam = ((b.IPv4Data ?? []) as IpamData[])[0];
  if (!ipam?.Pool) refuse('a Tenet network needs a subnet', 'give --subnet CIDR and --ipam-driver tenet');
  const pool = [...ctx.state.pools.values()].reverse().find((p) => p.subnet === ipam.Pool && !p.dockerId);
  if (!pool) refuse(`docker network ${dockerId.slice(0, 12)} does not use Tenet's IPAM`, 'add --ipam-driver tenet');
  // Without -o tenant= the tenant may come from the name (NAME/TENANT), which dockerd never
  // passes to a driver: the tenant's checks wait until the sync reads the name (network-sync.ts).
  const tenantKnown = opts.tenant !== undefined || opts.network !== undefined;
  const tenant = opts.tenant ?? ctx.defaultTenant;
  if (tenantKnown) await tenantExists(ctx, tenant);
  if (!opts.network) await requireGrant(ctx, opts.tenant);
  const gateway = ipam.Gateway?.split('/')[0];
  const binding: BindingRecord = { dockerId, tenant, tenantOption: opts.tenant, subnet: ipam.Pool, gateway, mtu: opts.mtu, vni: opts.vni, internal: opts.internal, poolId: pool.id, createdAt: new Date().toISOString() };
  if (opts.network) await adoptOrCreate(ctx, binding, opts.network, pool.aux);
  else await precheck(ctx, binding, opts, tenantKnown);
  pool.dockerId = dockerId;
  ctx.state.bindings.set(dockerId, binding);
  ctx.state.save();
  if (!binding.network) ctx.kickSync();
  return {};
}

/**
 * Binds the docker network to Tenet network `name`, creating it when absent; an existing one
 * must have the same subnet. Aux addresses are reserved (no TTL). Used by CreateNetwork and
 * by the sync once it knows a pending network's name.
 */
export async function adoptOrCreate(ctx: DriverContext, binding: BindingRecord, name: string, aux: string[]): Promise<Network> {
  let net = await ctx.controller.getNetwork(binding.tenant, name).catch((err) => (isGone(err) ? undefined : Promise.reject(err)));
  if (net && net.subnet !== binding.subnet) {
    throw new TenetError('SUBNET_OVERLAP', `Tenet network ${name} of tenant ${binding.tenant} exists with subnet ${net.subnet}, not ${binding.subnet}`, `give --subnet ${net.subnet}, or another name`);
  }
  const created = !net;
  if (created) await requireGrant(ctx, binding.tenant);
  net ??= await ctx.controller.createNetwork(binding.tenant, { name, subnet: binding.subnet, gateway: binding.gateway, mtu: binding.mtu, vni: binding.vni });
  try {
    for (const ip of aux) await ctx.controller.reserveAddress(binding.tenant, name, { ip, owner: { kind: 'request', id: 'docker-aux' } });
  } catch (err) {
    if (created) await ctx.controller.deleteNetwork(binding.tenant, name).catch(() => undefined);
    throw err;
  }
  Object.assign(binding, { network: name, gateway: net.gateway });
  return net;
}

async function tenantExists(ctx: DriverContext, tenant: string): Promise<void> {
  await ctx.controller.getTenant(tenant).catch((err) => {
    if (err instanceof TenetError && err.code === 'TENANT_NOT_FOUND') throw new TenetError('TENANT_NOT_FOUND', `no tenant ${tenant}`, `create it (tenet tenant create ${tenant}) or name another with -o tenant=NAME`);
    throw err;
  });
}

/**
 * The refusals a Tenet create would give, made before dockerd records the network: those of
 * the tenant only when it is known (`tenantKnown`), the VNI's always (VNIs are global).
 */
async function precheck(ctx: DriverContext, binding: BindingRecord, opts: NetworkOptions, tenantKnown: boolean): Promise<void> {
  const mine = parseCidr(binding.subnet)!;
  const all = await ctx.controller.listNetworks();
  const clash = tenantKnown && all.find((n) => n.tenant === binding.tenant && overlaps(parseCidr(n.subnet)!, mine));
  if (clash) throw new TenetError('SUBNET_OVERLAP', `subnet ${binding.subnet} overlaps network ${clash.name} (${clash.subnet}) of tenant ${binding.tenant}`, 'choose a subnet no network of the tenant uses (tenet net ls)');
  const vni = opts.vni !== undefined && all.find((n) => n.vni === opts.vni);
  if (vni) throw new TenetError('VNI_IN_USE', `VNI ${opts.vni} belongs to network ${vni.name} of tenant ${vni.tenant}`, 'leave out -o vni= to get a free one');
}

async function deleteNetwork(ctx: DriverContext, dockerId: string) {
  const binding = ctx.state.bindings.get(dockerId);
  if (binding?.network) {
    try {
      await ctx.controller.deleteNetwork(binding.tenant, binding.network);
    } catch (err) {
      if (err instanceof TenetError && err.code === 'NETWORK_IN_USE') {
        throw new TenetError('NETWORK_IN_USE', `Tenet network ${binding.network} of tenant ${binding.tenant} still has endpoints (maybe on other hosts)`, `remove them first: tenet ep ls --tenant ${binding.tenant} --net ${binding.network}`);
      }
      if (!isGone(err)) throw err;
    }
  }
  forget(ctx, dockerId);
  return {};
}

export function forget(ctx: DriverContext, dockerId: string): void {
  const binding = ctx.state.bindings.get(dockerId);
  if (binding?.poolId) ctx.state.pools.delete(binding.poolId);
  for (const p of ctx.state.pools.values()) if (p.dockerId === dockerId) ctx.state.pools.delete(p.id);
  ctx.state.bindings.delete(dockerId);
  ctx.state.save();
}

async function createEndpoint(ctx: DriverContext, b: Record<string, unknown>) {
  const { binding } = await boundNetwork(ctx, String(b.NetworkID ?? ''));
  const iface = (b.Interface ?? {}) as { Address?: string; MacAddress?: string };
  if (!iface.Address) refuse('the endpoint has no IPv4 address', 'create the network with --ipam-driver tenet');
  const ep = await ctx.agent.create({ tenant: binding.tenant, network: binding.network!, id: String(b.EndpointID ?? ''), ip: iface.Address.split('/')[0], mac: iface.MacAddress || undefined });
  // Only a field dockerd left empty may be filled in (protocols.md §2.2).
  return { Interface: iface.MacAddress ? {} : { MacAddress: ep.mac } };
}

async function join(ctx: DriverContext, dockerId: string, endpointId: string) {
  const binding = ctx.state.bindings.get(dockerId);
  const ep = await ctx.agent.attachHandoff(endpointId, 'eth0');
  if (ep.attachment?.kind !== 'handoff') throw new TenetError('DATAPATH_FAILED', `endpoint ${endpointId} was not handed off`, "check the agent's log");
  // No docker_gwbridge: the Tenet gateway is the default route, except on an --internal network.
  return { InterfaceName: { SrcName: ep.attachment.hostIfname, DstPrefix: 'eth' }, ...(binding?.internal ? {} : { Gateway: ep.gateway }), DisableGatewayService: true };
}

/**
 * Docker's `-p` (ADR 016): the bindings become the endpoint's published ports, set through
 * the local agent (controller first, then realized here); a host port another endpoint of
 * this host publishes fails the start with HOST_PORT_IN_USE. No bindings: nothing is written.
 */
export async function programExternalConnectivity(ctx: DriverContext, b: Record<string, unknown>): Promise<object> {
  const ports = portsFromOptions(b.Options);
  if (ports.length > 0) await ctx.agent.publishPorts(String(b.EndpointID ?? ''), ports);
  return {};
}

/** Clears the endpoint's published ports; an endpoint already gone is fine. */
export async function revokeExternalConnectivity(ctx: DriverContext, b: Record<string, unknown>): Promise<object> {
  return tolerant(ctx.agent.publishPorts(String(b.EndpointID ?? ''), []));
}

async function tolerant(p: Promise<unknown>): Promise<object> {
  try {
    await p;
  } catch (err) {
    if (!isGone(err)) throw err;
  }
  return {};
}
