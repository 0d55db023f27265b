/**
 * Test support for issue 11, failure test (4): after an agent crash, its restart and the
 * claim window, nothing is left that belongs to no endpoint. Two checks:
 * - the store: every reserved address is held by an endpoint that exists and is realized;
 * - the kernel of each lab host, read back with the datapath's own readers (observe.ts): the
 *   namespaces the agent made, the ports, bridges, VXLAN devices, FDB and neighbour entries
 *   and port-pinning elements in them, and handoff interfaces in the host's namespace, each
 *   name an endpoint (or network) the store holds.
 */
import assert from 'node:assert/strict';
import type { ControllerClient } from '../../src/api/client.js';
import { bridgeName, isHandoff, isOurs, isPort, portOf, tenantNs, vxlanName } from '../../src/datapath/names.js';
import { observeTenant, parseLinks, listNamespaces } from '../../src/datapath/observe.js';
import { ExecRunner } from '../../src/datapath/runner.js';
import type { Endpoint, Network } from '../../src/model/types.js';

const runner = new ExecRunner();

/** A lab host as `lab ls -o json` lists it, with the namespace prefix its agent uses. */
export interface KernelHost {
  name: string;
  /** The host's own namespace (where handoff interfaces wait). */
  netns: string;
  /** The agent's --ns-prefix: its tenant namespaces are `<nsPrefix><tenant>`. */
  nsPrefix: string;
}

/** Every reserved address of the network is held by an existing endpoint that is `up`. */
export async function assertNoLeakedAddress(api: ControllerClient, tenant: string, network: string): Promise<void> {
  const endpoints = new Map((await api.listEndpoints({ tenant, network })).map((e) => [e.id, e]));
  for (const r of await api.listAddresses(tenant, network)) {
    if (r.owner.kind === 'gateway') continue;
    assert.equal(r.owner.kind, 'endpoint', `${r.ip} is reserved for a ${r.owner.kind} ${r.owner.id}, not an endpoint`);
    const e = endpoints.get(r.owner.id);
    assert.ok(e, `${r.ip} is reserved for endpoint ${r.owner.id}, which does not exist: a leaked address`);
    assert.equal(e.ip, r.ip, `${r.ip} is reserved for ${e.id}, whose address is ${e.ip}`);
    assert.equal(e.status, 'up', `${r.ip}: its endpoint ${e.id} is ${e.status}, not realized`);
  }
}

/** No kernel object on `host` without an endpoint, network or tenant in the store. */
export async function assertNoOrphanKernelObjects(api: ControllerClient, host: KernelHost): Promise<void> {
  const [endpoints, networks, hosts] = await Promise.all([api.listEndpoints(), api.listNetworks(), api.listHosts()]);
  const vteps = new Map(hosts.map((h) => [h.name, h.vtep]));
  const tenants = new Set(networks.map((n) => n.tenant));
  const made = (await listNamespaces()).filter((ns) => ns.startsWith(host.nsPrefix));
  for (const ns of made) assert.ok(tenants.has(ns.slice(host.nsPrefix.length)), `${host.name}: namespace ${ns} is of no tenant with a network`);
  for (const ns of made) {
    const ofTenant = <T extends { tenant: string }>(xs: T[]) => xs.filter((x) => ns === tenantNs(host.nsPrefix, x.tenant));
    await assertTenantNamespaceClean(host, ns, ofTenant(endpoints), ofTenant(networks), vteps);
  }

  const handoffs = new Set(endpoints.filter((e) => e.host === host.name && e.attachment?.kind === 'handoff').map((e) => (e.attachment as { hostIfname: string }).hostIfname));
  const hostLinks = parseLinks((await runner.run(['ip', '-n', host.netns, '-j', '-d', 'addr', 'show'])).stdout, (n) => isHandoff(n) || isOurs(n));
  for (const name of hostLinks.keys()) assert.ok(handoffs.has(name), `${host.name}: interface ${name} in the host namespace belongs to no endpoint`);
}

/** Flooded frames go to every remote VTEP with an endpoint in the network: an all-zero MAC entry each. */
const FLOOD_MAC = '00:00:00:00:00:00';

async function assertTenantNamespaceClean(host: KernelHost, ns: string, endpoints: Endpoint[], networks: Network[], vteps: Map<string, string>): Promise<void> {
  const s = await observeTenant(runner, ns, true);
  const local = endpoints.filter((e) => e.host === host.name);
  const ports = new Set(local.map(portOf).filter((p): p is string => p !== undefined));
  const devices = new Set(networks.flatMap((n) => [bridgeName(n.vni), vxlanName(n.vni)]));
  for (const [name, link] of s.links) {
    if (isPort(name)) assert.ok(ports.has(name), `${ns}: port ${name} belongs to no endpoint of ${host.name}`);
    else if (link.kind === 'bridge' || link.kind === 'vxlan') assert.ok(devices.has(name), `${ns}: ${name} belongs to no network`);
    else assert.ok(ports.has(`tnv${name.slice(3)}`), `${ns}: ${name} belongs to no port of an endpoint`);
  }
  // What each VXLAN device may know: the endpoints of its network on other hosts, and their VTEPs.
  const remotes = (dev: string) => {
    const net = networks.find((n) => vxlanName(n.vni) === dev);
    return endpoints.filter((e) => e.networkId === net?.id && e.host && e.host !== host.name);
  };
  for (const f of s.fdb) {
    const known = remotes(f.dev).flatMap((e) => [`${e.mac} ${vteps.get(e.host!)}`, `${FLOOD_MAC} ${vteps.get(e.host!)}`]);
    const entry = f.kind === 'remote' ? `${f.mac} ${f.dst}` : f.mac;
    const allowed = f.kind === 'remote' ? known : remotes(f.dev).map((e) => e.mac);
    assert.ok(allowed.includes(entry), `${ns}: FDB entry ${f.mac} on ${f.dev} (${f.kind}${f.dst ? ` to ${f.dst}` : ''}) names no endpoint of its network on another host`);
  }
  for (const n of s.neigh) {
    assert.ok(remotes(n.dev).some((e) => e.ip === n.ip && e.mac === n.mac), `${ns}: neighbour ${n.ip} ${n.mac} on ${n.dev} names no endpoint of its network on another host`);
  }
  for (const p of s.pinned) assert.ok(ports.has(/^"([^"]+)"/.exec(p)?.[1] ?? ''), `${ns}: nft pinning element ${p} names no port of an endpoint`);
}
