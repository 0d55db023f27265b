/**
 * GET /v1/tenants/:tenant/networks/:network/bridged-traffic: how a network's bridged traffic
 * is filtered (docs/adr/013, per bridge). Whether the agents turn br_netfilter on for its
 * bridges is decided by the compiler (src/policy/tracked.ts) from the tenant's objects, the
 * same ones the agents compile from, so what `tenet net show` says is what the hosts do; the
 * policies whose rules make it so tell an operator why this network pays for conntrack.
 * A route of its own: it compiles the tenant, which GET of a network (on Docker's attach
 * path) must not pay.
 */
import type { BridgedTraffic } from '../api/types.js';
import { compileTenant } from '../policy/compile.js';
import { trackingPolicies } from '../policy/tracked.js';
import { requireNetwork } from './lookups.js';
import { compileInputs } from './policy-check.js';
import type { Ctx } from './repo.js';

export async function bridgedTraffic(ctx: Ctx, tenant: string, name: string): Promise<BridgedTraffic> {
  await requireNetwork(ctx.store, tenant, name);
  const inputs = await compileInputs(ctx, tenant);
  // As the agents: no policy attached anywhere in the tenant, nothing to compile (src/agent/policy.ts).
  const why = inputs.networks.some((n) => n.policies?.length) ? trackingPolicies(compileTenant(inputs)).get(name) : undefined;
  return { conntrack: why !== undefined, policies: why ?? [] };
}
