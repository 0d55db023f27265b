/**
 * Changes to a policy in place (issue 7): its rules (PATCH: removals by 1-based index, then
 * additions at the end), its rate limits (PUT .../rates: one limit per target, replaced, or
 * removed when both rates are absent), and which policies a network has attached (PATCH of
 * the network). Each is one conditional write of the object read, retried on a race, with
 * every input parsed and checked before anything is written.
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Policy, RateLimit } from '../model/policy.js';
import { formatSelector, parseRateTarget, parseRules } from '../model/policy-parse.js';
import { parseRate } from '../model/policy-rate.js';
import type { Network } from '../model/types.js';
import { validateDnsUpstream } from '../model/validate.js';
import type { Compare } from '../store/types.js';
import { bodyObject, optionalString } from './body.js';
import { requireNetwork, requirePolicy } from './lookups.js';
import { checkNetworkRefs, checkRateCount, checkRuleCount, ruleSelectors } from './policy-refs.js';
import { encode, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

interface RulePatch {
  add: Policy['rules'];
  remove: number[];
}

function parseRulePatch(body: unknown): RulePatch {
  const b = bodyObject(body);
  const add = b.addRules ?? [];
  const remove = b.removeRules ?? [];
  if (!Array.isArray(add)) throw new TenetError('BAD_REQUEST', 'field "addRules" must be an array of rule strings');
  if (!Array.isArray(remove) || !remove.every((n) => Number.isSafeInteger(n) && (n as number) >= 1)) {
    throw new TenetError('BAD_REQUEST', 'field "removeRules" must be an array of rule numbers (1-based, as tenet policy show numbers them)');
  }
  checkRuleCount(add.length);
  return { add: parseRules(add, 'added rule'), remove: [...new Set(remove as number[])] };
}

export async function patchRules(ctx: Ctx, tenant: string, name: string, body: unknown): Promise<Policy> {
  const patch = parseRulePatch(body);
  const next = await retrying(`update policy ${name}`, async () => {
    const p = await requirePolicy(ctx.store, tenant, name);
    const missing = patch.remove.find((n) => n > p.obj.rules.length);
    if (missing !== undefined) {
      throw new TenetError('INVALID_RULE', `policy ${name} has no rule ${missing} (it has ${p.obj.rules.length})`, `see the numbers with tenet policy show ${name} --tenant ${tenant}`);
    }
    const gone = new Set(patch.remove);
    const rules = [...p.obj.rules.filter((_, i) => !gone.has(i + 1)), ...patch.add];
    checkRuleCount(rules.length);
    const networks = (await listObjs<Network>(ctx.store, keys.networksOf(tenant))).items;
    checkNetworkRefs(tenant, ruleSelectors(patch.add), networks, (i) => `added rule ${i + 1}`);
    if (patch.add.length === 0 && gone.size === 0) return p.obj;
    const next: Policy = { ...p.obj, rules, updatedAt: nowIso() };
    const res = await ctx.store.update(p.kv.key, encode(next), p.kv.modRevision);
    return res.ok ? next : RETRY;
  });
  ctx.log.info({ tenant, policy: name, added: patch.add.length, removed: patch.remove, rules: next.rules.length }, 'policy rules changed');
  return next;
}

/** The one place a rates body is read: a target and, each optional, two rates. */
function parseRateBody(body: unknown): RateLimit {
  const b = bodyObject(body);
  const target = parseRateTarget(b.target);
  const egress = optionalString('egress', b.egress);
  const ingress = optionalString('ingress', b.ingress);
  const limit: RateLimit = { target };
  if (egress !== undefined && egress !== '') limit.egressBps = parseRate(egress, 'egress rate');
  if (ingress !== undefined && ingress !== '') limit.ingressBps = parseRate(ingress, 'ingress rate');
  return limit;
}

export async function putRate(ctx: Ctx, tenant: string, name: string, body: unknown): Promise<Policy> {
  const limit = parseRateBody(body);
  const targetText = formatSelector(limit.target);
  const removing = limit.egressBps === undefined && limit.ingressBps === undefined;
  const next = await retrying(`set a rate of policy ${name}`, async () => {
    const p = await requirePolicy(ctx.store, tenant, name);
    if (!removing) checkNetworkRefs(tenant, [[limit.target]], (await listObjs<Network>(ctx.store, keys.networksOf(tenant))).items, () => `target ${targetText}`);
    const others = p.obj.rates.filter((r) => formatSelector(r.target) !== targetText);
    if (removing && others.length === p.obj.rates.length) return p.obj;
    const rates = removing ? others : [...others, limit];
    checkRateCount(rates.length);
    const next: Policy = { ...p.obj, rates, updatedAt: nowIso() };
    const res = await ctx.store.update(p.kv.key, encode(next), p.kv.modRevision);
    return res.ok ? next : RETRY;
  });
  ctx.log.info({ tenant, policy: name, target: targetText, egressBps: limit.egressBps, ingressBps: limit.ingressBps }, removing ? 'policy rate removed' : 'policy rate set');
  return next;
}

/** A network patch: the policy names (in order, each once) and the DNS forwarder ('' removes it), each optional. */
interface NetworkPatch {
  policies?: string[];
  dnsUpstream?: string;
}

/** The one place a network patch is read. */
function parseNetworkPatch(body: unknown): NetworkPatch {
  const b = bodyObject(body);
  const patch: NetworkPatch = {};
  if (b.dnsUpstream !== undefined) patch.dnsUpstream = b.dnsUpstream === '' ? '' : validateDnsUpstream(b.dnsUpstream);
  const policies = b.policies;
  if (policies === undefined) return patch;
  if (!Array.isArray(policies) || !policies.every((p) => typeof p === 'string')) {
    throw new TenetError('BAD_REQUEST', 'field "policies" must be an array of policy names ([] detaches all)');
  }
  patch.policies = [...new Set(policies.filter((p) => p !== ''))];
  return patch;
}

/** The network with the patch applied (an empty list or '' removes the field). */
function patched(net: Network, patch: NetworkPatch): Network {
  const { policies, dnsUpstream, ...rest } = net;
  const next: Network = { ...rest };
  const newPolicies = patch.policies ?? policies;
  const newUpstream = patch.dnsUpstream ?? dnsUpstream;
  if (newPolicies && newPolicies.length > 0) next.policies = newPolicies;
  if (newUpstream) next.dnsUpstream = newUpstream;
  return next;
}

/** Attaches exactly the named policies (each must exist; the txn compares them so none vanishes meanwhile) and sets the DNS forwarder. */
export async function patchNetwork(ctx: Ctx, tenant: string, network: string, body: unknown): Promise<Network> {
  const patch = parseNetworkPatch(body);
  const next = await retrying(`update network ${network}`, async () => {
    const net = await requireNetwork(ctx.store, tenant, network);
    if (patch.policies === undefined && patch.dnsUpstream === undefined) return net.obj;
    const found = await Promise.all((patch.policies ?? []).map((n) => requirePolicy(ctx.store, tenant, n)));
    const next = patched(net.obj, patch);
    const compares: Compare[] = [{ key: net.kv.key, modRevision: net.kv.modRevision }, ...found.map((p) => ({ key: p.kv.key, modRevision: p.kv.modRevision }))];
    const res = await ctx.store.txn(compares, [{ type: 'put', key: net.kv.key, value: encode(next) }]);
    return res.ok ? next : RETRY;
  });
  ctx.log.info({ tenant, network, policies: next.policies ?? [], dnsUpstream: next.dnsUpstream ?? null }, 'network updated');
  return next;
}
