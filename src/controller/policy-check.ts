/**
 * POST /v1/tenants/:tenant/policy-check (issue 7): the verdict for one flow and the rule that
 * decides it. The controller only gathers the tenant's networks, endpoints and policies and
 * resolves the two ends to addresses; the decision is the compiler's (src/policy/check.ts),
 * the same compiled form the datapath loads, so `policy check` and the kernel never disagree.
 */
import type { PolicyCheckResult } from '../api/types.js';
import { parseIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Policy } from '../model/policy.js';
import { checkFlow } from '../policy/check.js';
import type { CompileInput } from '../policy/compile.js';
import type { Endpoint, Network } from '../model/types.js';
import { quoteValue } from '../model/validate.js';
import { bodyObject } from './body.js';
import { isEndpointId, requireTenant } from './lookups.js';
import { listObjs, type Ctx } from './repo.js';

type Flow = Parameters<typeof checkFlow>[1];

const PROTOS = ['tcp', 'udp', 'icmp'] as const;

/** The one place a check body is read. */
function parseCheck(body: unknown): { from: string; to: string; proto: Flow['proto']; port?: number } {
  const b = bodyObject(body);
  const proto = b.proto as Flow['proto'];
  if (!PROTOS.includes(proto)) throw new TenetError('BAD_REQUEST', `invalid protocol ${quoteValue(b.proto)}`, 'use tcp, udp or icmp');
  const port = b.port;
  if (port !== undefined && (!Number.isSafeInteger(port) || (port as number) < 1 || (port as number) > 65535)) {
    throw new TenetError('BAD_REQUEST', `invalid port ${quoteValue(port)}`, 'give a port 1..65535');
  }
  if (port !== undefined && proto === 'icmp') throw new TenetError('BAD_REQUEST', 'icmp has no ports', 'leave --port out');
  if (typeof b.from !== 'string' || typeof b.to !== 'string') throw new TenetError('BAD_REQUEST', 'fields "from" and "to" must be strings');
  return { from: b.from, to: b.to, proto, ...(port === undefined ? {} : { port: port as number }) };
}

export async function checkPolicy(ctx: Ctx, tenant: string, body: unknown): Promise<PolicyCheckResult> {
  const req = parseCheck(body);
  await requireTenant(ctx.store, tenant);
  const { networks, endpoints, policies } = await compileInputs(ctx, tenant);
  const src = endpointOf(endpoints, tenant, req.from, 'from').ip;
  const dst = parseIp(req.to) !== undefined ? req.to : endpointOf(endpoints, tenant, req.to, 'to').ip;
  const v = checkFlow({ networks, endpoints, policies }, { src, dst, proto: req.proto, ...(req.port === undefined ? {} : { port: req.port }) });
  return { verdict: v.verdict, rule: v.rule ?? null, reason: v.reason };
}

/** What the compiler reads of a tenant: the same objects the agents compile from. */
export async function compileInputs(ctx: Ctx, tenant: string): Promise<CompileInput> {
  const [networks, endpoints, policies] = await Promise.all([
    listObjs<Network>(ctx.store, keys.networksOf(tenant)).then((l) => l.items),
    listObjs<Endpoint>(ctx.store, keys.endpoints()).then((l) => l.items.filter((e) => e.tenant === tenant)),
    listObjs<Policy>(ctx.store, keys.policiesOf(tenant)).then((l) => l.items),
  ]);
  return { networks, endpoints, policies };
}

function endpointOf(endpoints: Endpoint[], tenant: string, id: string, field: string): Endpoint {
  const ep = isEndpointId(id) ? endpoints.find((e) => e.id === id) : undefined;
  if (!ep) throw new TenetError('ENDPOINT_NOT_FOUND', `${field}: tenant ${tenant} has no endpoint with id ${quoteValue(id)}`, `list them with tenet ep ls --tenant ${tenant}${field === 'to' ? ' (or give an IPv4 address)' : ''}`);
  return ep;
}
