/**
 * Fills the controller through its API only (never behind its back): hosts, tenants, their
 * networks, then every endpoint, attached to a fake namespace of its host, and finally its
 * status `up` as its agent would have reported it (so the agents start from a settled state,
 * not from a storm of first reports). A few dozen requests in flight, bounded in time.
 */
import type { ControllerClient } from '../../src/api/client.js';
import type { Cleanup } from '../lib/main.js';
import { simIdentity, simNetnsPath } from './fakes.js';
import { NETWORK, type Population, type TenantSpec } from './population.js';

export const VXLAN_MTU = 1450; // underlay 1500 minus VXLAN: what the agents' plans give the ports

export interface PopulateTimes {
  hostsMs: number;
  tenantsMs: number;
  endpointsMs: number;
  statusMs: number;
  endpoints: number;
}

/** Runs `fn` over `items` with `width` in flight; stops at the deadline or on cleanup. */
export async function pool<T>(items: Iterable<T>, width: number, fn: (x: T) => Promise<unknown>, cleanup: Cleanup, deadline: number, what: string): Promise<number> {
  const it = items[Symbol.iterator]();
  let done = 0;
  const worker = async () => {
    for (let n = it.next(); !n.done; n = it.next()) {
      cleanup.check();
      if (Date.now() > deadline) throw new Error(`${what}: over the time bound after ${done} items`);
      await fn(n.value);
      done++;
      if (done % 10_000 === 0) console.log(`  ${what}: ${done}`);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return done;
}

export function endpointId(t: TenantSpec, j: number): string {
  return `${t.name}-${j}`;
}

/** Every endpoint of the population, with its host and its namespace number. */
export function* endpointsOf(pop: Population): Generator<{ tenant: TenantSpec; id: string; host: string; ns: number }> {
  let ns = 0;
  for (const tenant of pop.tenants) {
    for (let j = 0; j < tenant.endpoints; j++) yield { tenant, id: endpointId(tenant, j), host: tenant.hosts[j % tenant.hosts.length]!, ns: ns++ };
  }
}

export function hostVtep(i: number): string {
  return `10.200.${(i >> 8) & 255}.${i & 255}`;
}

export async function createSimEndpoint(c: ControllerClient, tenant: string, id: string, host: string, ns: number) {
  const netns = simNetnsPath(ns);
  return c.createEndpoint(tenant, NETWORK, { id, host, attachment: { kind: 'netns', netns, netnsId: simIdentity(netns), ifname: 'eth0' } });
}

export async function populate(c: ControllerClient, pop: Population, width: number, boundMs: number, cleanup: Cleanup): Promise<PopulateTimes> {
  const deadline = Date.now() + boundMs;
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const hostsMs = await timed(() => pool(pop.hosts.entries(), width, ([i, h]) => c.registerHost(h, { vtep: hostVtep(i), underlayMtu: 1500 }), cleanup, deadline, 'hosts'));
  const tenantsMs = await timed(() =>
    pool(pop.tenants, width, async (t) => {
      await c.createTenant(t.name);
      await c.createNetwork(t.name, { name: NETWORK, subnet: t.subnet });
    }, cleanup, deadline, 'tenants'),
  );
  let endpoints = 0;
  const endpointsMs = await timed(async () => {
    endpoints = await pool(endpointsOf(pop), width, (e) => createSimEndpoint(c, e.tenant.name, e.id, e.host, e.ns), cleanup, deadline, 'endpoints');
  });
  const statusMs = await timed(() => pool(endpointsOf(pop), width, (e) => c.setEndpointStatus(e.id, { status: 'up', mtu: VXLAN_MTU }), cleanup, deadline, 'status up'));
  return { hostsMs, tenantsMs, endpointsMs, statusMs, endpoints };
}
