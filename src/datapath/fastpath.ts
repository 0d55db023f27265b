/**
 * The attach fast path. Reading a tenant namespace back from the kernel costs four processes
 * and grows with every endpoint of the host (docs/benchmarks.md: 26 of 49 ms per attach), yet
 * when this Datapath converged the tenant itself a moment ago and the only difference since
 * is ports added or removed, the diff is known without reading: create the new ports, delete
 * the old ones. Anything else (a network, a remote endpoint, a host changed; a failure last
 * time; a restarted agent; the periodic full resync) takes the full read-diff-apply path,
 * which also repairs whatever somebody changed behind our back.
 */
import { newPort, type TenantSteps } from './diff.js';
import type { TenantPlan } from './plan.js';

/** Steps for `next` given that the kernel matched `prev`; undefined when ports are not all that changed. */
export function portOnlySteps(prev: TenantPlan, next: TenantPlan): TenantSteps | undefined {
  if (JSON.stringify(prev.networks) !== JSON.stringify(next.networks)) return undefined;
  const before = new Map(prev.ports.map((p) => [p.port, JSON.stringify(p)]));
  const after = new Set(next.ports.map((p) => p.port));
  if (next.ports.some((p) => before.has(p.port) && before.get(p.port) !== JSON.stringify(p))) return undefined;
  return {
    ns: next.ns,
    createNs: false,
    cleanup: prev.ports.filter((p) => !after.has(p.port)).map((p) => `link del ${p.port}`),
    host: [],
    tenant: [],
    bridge: [],
    newPorts: next.ports.filter((p) => !before.has(p.port)).map(newPort),
    workloadFixes: [],
  };
}
