/**
 * An attach must not cost more as the agent's cache grows (issue 6: "the agent's plan for
 * one attach and status reporting cost O(log n) or better"). The agent's cache holds 2,000
 * and then 20,000 endpoints over 20 and 200 tenants, on 100 hosts; one attach's reconcile is
 * counted (objects planned from, endpoints whose status it weighed, namespaces it checked)
 * and must cover its tenant's objects only: the same counts at both sizes. A full reconcile
 * still covers every tenant with an endpoint here. Counts, never times.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ControllerClient } from '../api/client.js';
import { silentLogger } from '../base/logger.js';
import type { Datapath, SetResult } from '../datapath/datapath.js';
import { ep, host, net } from '../datapath/testing/objects.js';
import type { Endpoint } from '../model/types.js';
import { Agent } from './agent.js';
import type { WorkloadNamespaces } from './namespaces.js';

const HOSTS = 100;
const PER_TENANT = 100;
const ME = 'h1';

/** A datapath that realizes everything and touches no kernel: only the agent's own work is counted. */
const nullDatapath = {
  set: async (): Promise<SetResult> => ({ failedPorts: new Map(), failedNamespaces: new Map(), changed: [] }),
  ownedIdentities: async () => [],
  readWorkloads: async () => ({ epoch: 0, states: new Map() }),
} as unknown as Datapath;

async function attachCost(tenantCount: number) {
  const checks = { identity: 0, statusWrites: 0 };
  const namespaces: WorkloadNamespaces = {
    resolve: async () => assert.fail('not used'),
    identity: async () => (checks.identity++, { dev: 0, ino: 0 }),
  };
  let agent: Agent;
  const controller = {
    setEndpointStatus: async (id: string, r: { status: Endpoint['status']; mtu?: number }) => (checks.statusWrites++, { ...agent.cache.endpoints.get(id)!, status: r.status }),
  } as unknown as ControllerClient;
  agent = new Agent({ host: ME, nsPrefix: 'tc-', underlay: { name: 'default', vtep: '192.0.2.2', mtu: 1500 }, controller, datapath: nullDatapath, logger: silentLogger, namespaces });
  const networks = Array.from({ length: tenantCount }, (_, t) => [net(`t${t}`, 'a', '10.1.0.0/16', 1000 + 2 * t), net(`t${t}`, 'b', '10.2.0.0/16', 1001 + 2 * t)]).flat();
  const endpoints = networks.flatMap((n, k) =>
    Array.from({ length: PER_TENANT / 2 }, (_, i) => ({ ...ep(`${n.id}-${i}`, n, `h${(k * 7 + i) % HOSTS}`, `10.${k % 2 ? 2 : 1}.0.${i + 2}`, `/run/netns/${n.id}-${i}`), status: 'up' as const, mtu: 1450 })),
  );
  const hosts = Array.from({ length: HOSTS }, (_, i) => host(`h${i}`, `192.0.2.${i + 1}`));
  agent.cache.reset({ revision: 1, objects: { tenant: [], network: networks, endpoint: endpoints, host: hosts, policy: [] } });
  assert.equal(agent.cache.endpoints.size, tenantCount * PER_TENANT);

  // One attach of tenant t5, as attach.ts does it: the new endpoint in the cache, then its tenant's reconcile.
  const fresh = ep('fresh', networks[10]!, ME, '10.1.9.9', '/run/netns/fresh');
  agent.cache.putLocalEndpoint(fresh);
  checks.identity = 0;
  await agent.reconcileTenants(new Set(['t5']), 'fresh');
  const attach = { ...agent.lastReconcile, identityReads: checks.identity, statusWrites: checks.statusWrites };

  const mine = [...agent.cache.endpoints.values()].filter((e) => e.tenant === 't5');
  const local = mine.filter((e) => e.host === ME);
  const expected = { planInputs: 2 + mine.length + new Set(mine.map((e) => e.host)).size, statusCandidates: local.length, namespaceChecks: local.length };
  assert.deepEqual(agent.lastReconcile, expected, "the attach's reconcile read its tenant's objects only");

  checks.identity = 0;
  await agent.reconcileAll();
  const allLocal = [...agent.cache.endpoints.values()].filter((e) => e.host === ME).length;
  assert.equal(agent.lastReconcile.statusCandidates, allLocal, 'a full reconcile weighs every local endpoint');
  // Twice: before its workload reads, taken outside the queue (agent.ts readWorkloads), and in it.
  assert.equal(checks.identity, 2 * allLocal, 'and checks every local namespace');
  agent.stop();
  return attach;
}

test('agent cost: one attach reads the same with 2,000 and with 20,000 endpoints in the cache', async () => {
  const small = await attachCost(20);
  const large = await attachCost(200);
  assert.deepEqual(large, small, `2,000: ${JSON.stringify(small)}, 20,000: ${JSON.stringify(large)}`);
  assert.equal(large.statusWrites, 1, 'only the completing endpoint had a status to write');
  assert.ok(large.planInputs < 200, `objects planned from: ${large.planInputs}`);
  console.log(`one attach at 20,000 endpoints: ${JSON.stringify(large)}`);
});
