/**
 * Policy routes (issue 7): create, list, show with realization, delete. Changes of rules,
 * rates and attachments are in policy-update.ts; `policy check` in policy-check.ts.
 *
 * A policy is one object holding its parsed rules, so a create or an update is one txn: a
 * list with one bad rule creates nothing. Creates and deletes rewrite the tenant's
 * generation key (repo.ts internalKeys.networkGen), which serializes them with network
 * creates and the tenant's delete: a tenant is never deleted under a policy being created,
 * and a network created while a policy is deleted is seen by the delete's in-use check.
 */
import type { FastifyInstance } from 'fastify';
import type { PolicyDetail } from '../api/types.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import { POLICY_BODY_LIMIT } from '../model/limits.js';
import type { Policy } from '../model/policy.js';
import { parseRules } from '../model/policy-parse.js';
import type { Network } from '../model/types.js';
import { validateName } from '../model/validate.js';
import { bodyObject } from './body.js';
import type { RealizationIndex } from './endpoints.js';
import { livenessOf, realizedOn } from './liveness.js';
import { requirePolicy, requireTenant } from './lookups.js';
import { checkNetworkRefs, checkRuleCount, ruleSelectors } from './policy-refs.js';
import { checkPolicy } from './policy-check.js';
import { patchNetwork, patchRules, putRate } from './policy-update.js';
import { encode, internalKeys, listObjs, newId, nowIso, retrying, RETRY, type Ctx } from './repo.js';

type TenantParams = { Params: { tenant: string } };
type PolicyParams = { Params: { tenant: string; name: string } };
type NetworkParams = { Params: { tenant: string; network: string } };

const POLICIES = '/v1/tenants/:tenant/policies';
/** Routes that may carry 10,000 rules get a larger body limit than the server's. */
const BIG = { bodyLimit: POLICY_BODY_LIMIT };

export function policyRoutes(app: FastifyInstance, ctx: Ctx, index: RealizationIndex): void {
  app.get('/v1/policies', async () => (await listObjs<Policy>(ctx.store, keys.policies())).items);

  app.get<TenantParams>(POLICIES, async (req) => {
    await requireTenant(ctx.store, req.params.tenant);
    return (await listObjs<Policy>(ctx.store, keys.policiesOf(req.params.tenant))).items;
  });

  app.post<TenantParams>(POLICIES, BIG, async (req, reply) => reply.code(201).send(await createPolicy(ctx, req.params.tenant, req.body)));

  app.get<PolicyParams>(`${POLICIES}/:name`, async (req) => policyDetail(ctx, req.params.tenant, req.params.name, index));

  app.patch<PolicyParams>(`${POLICIES}/:name`, BIG, async (req) => patchRules(ctx, req.params.tenant, req.params.name, req.body));

  app.put<PolicyParams>(`${POLICIES}/:name/rates`, async (req) => putRate(ctx, req.params.tenant, req.params.name, req.body));

  app.delete<PolicyParams>(`${POLICIES}/:name`, async (req, reply) => {
    await deletePolicy(ctx, req.params.tenant, req.params.name);
    return reply.code(204).send();
  });

  app.patch<NetworkParams>('/v1/tenants/:tenant/networks/:network', async (req) => patchNetwork(ctx, req.params.tenant, req.params.network, req.body));

  app.post<TenantParams>('/v1/tenants/:tenant/policy-check', async (req) => checkPolicy(ctx, req.params.tenant, req.body));
}

interface PolicySpec {
  name: string;
  rules: Policy['rules'];
}

/** The one place a create body is read: every rule parsed before anything is read or written. */
function parseSpec(body: unknown): PolicySpec {
  const b = bodyObject(body);
  const name = validateName('policy', b.name);
  if (!Array.isArray(b.rules)) throw new TenetError('BAD_REQUEST', 'field "rules" must be an array of rule strings', 'send e.g. {"rules": ["allow any from any to any"]}');
  checkRuleCount(b.rules.length);
  return { name, rules: parseRules(b.rules) };
}

export async function createPolicy(ctx: Ctx, tenantName: string, body: unknown): Promise<Policy> {
  const spec = parseSpec(body);
  const policy = await retrying(`create policy ${spec.name}`, async () => {
    const tenant = await requireTenant(ctx.store, tenantName);
    const genKey = internalKeys.networkGen(tenant.obj.id);
    const [gen, existing, networks] = await Promise.all([
      ctx.store.get(genKey),
      ctx.store.get(keys.policy(tenantName, spec.name)),
      listObjs<Network>(ctx.store, keys.networksOf(tenantName)),
    ]);
    if (existing) throw new TenetError('POLICY_EXISTS', `tenant ${tenantName} has a policy named ${spec.name} already`, 'pick another name, or change it with tenet policy update');
    checkNetworkRefs(tenantName, ruleSelectors(spec.rules), networks.items, (i) => `rule ${i + 1}`);
    const now = nowIso();
    const p: Policy = { id: newId(), tenant: tenantName, name: spec.name, rules: spec.rules, rates: [], createdAt: now, updatedAt: now };
    const key = keys.policy(tenantName, spec.name);
    const res = await ctx.store.txn(
      [
        { key: keys.tenant(tenantName), modRevision: tenant.kv.modRevision },
        { key: genKey, modRevision: gen?.modRevision ?? 0 },
        { key, modRevision: 0 },
      ],
      [
        { type: 'put', key: genKey, value: p.id },
        { type: 'put', key, value: encode(p) },
      ],
    );
    return res.ok ? p : RETRY;
  });
  ctx.log.info({ tenant: tenantName, policy: policy.name, policyId: policy.id, rules: policy.rules.length }, 'policy created');
  return policy;
}

/** Refused while attached (POLICY_IN_USE names the networks); see the file comment for the races. */
async function deletePolicy(ctx: Ctx, tenant: string, name: string): Promise<void> {
  const revision = await retrying(`delete policy ${name}`, async () => {
    const p = await requirePolicy(ctx.store, tenant, name);
    const t = await requireTenant(ctx.store, tenant);
    const genKey = internalKeys.networkGen(t.obj.id);
    const [gen, nets] = await Promise.all([ctx.store.get(genKey), ctx.store.list(keys.networksOf(tenant))]);
    const attached = nets.items.map((kv) => JSON.parse(kv.value) as Network).filter((n) => n.policies?.includes(name));
    if (attached.length > 0) {
      const names = attached.map((n) => n.name).join(', ');
      throw new TenetError('POLICY_IN_USE', `policy ${name} of tenant ${tenant} is attached to networks: ${names}`, 'detach it first (tenet net update NET --tenant T --policy ...)');
    }
    const compares = [
      { key: p.kv.key, modRevision: p.kv.modRevision },
      { key: genKey, modRevision: gen?.modRevision ?? 0 },
      ...nets.items.map((kv) => ({ key: kv.key, modRevision: kv.modRevision })),
    ];
    const res = await ctx.store.txn(compares, [
      { type: 'delete', key: p.kv.key },
      { type: 'put', key: genKey, value: p.obj.id },
    ]);
    return res.ok ? res.revision : RETRY;
  });
  ctx.log.info({ tenant, policy: name, revision }, 'policy deleted');
}

/**
 * The policy, the networks it is attached to, and where its current version is enforced: on
 * every host that carries the tenant (ADR 011: exactly the hosts sent the policy), once the
 * host is up and has realized the policy's last change and the last change of every network
 * it is attached to (an attach is a network change; both must be in force).
 */
async function policyDetail(ctx: Ctx, tenant: string, name: string, index: RealizationIndex): Promise<PolicyDetail> {
  const p = await requirePolicy(ctx.store, tenant, name);
  const [nets, life] = await Promise.all([ctx.store.list(keys.networksOf(tenant)), livenessOf(ctx.store)]);
  const attached = nets.items.filter((kv) => (JSON.parse(kv.value) as Network).policies?.includes(name));
  const sent = (key: string, modRevision: number) => Math.min(modRevision, index.realizedAt(key) ?? modRevision);
  const revision = Math.max(sent(p.kv.key, p.kv.modRevision), ...attached.map((kv) => sent(kv.key, kv.modRevision)));
  const hosts = realizedOn([...index.carriers(tenant)].sort(), life, revision);
  return {
    policy: p.obj,
    networks: attached.map((kv) => (JSON.parse(kv.value) as Network).name),
    realization: { policy: name, revision, realized: hosts.length > 0 && hosts.every((h) => h.realized), hosts },
  };
}
