/**
 * bench/policy-compile.ts, part 2: what loading ONE changed rule costs the kernel, as the
 * agent sends it (src/datapath/nft.ts in-place update), in one scratch namespace holding the
 * tenant's whole ruleset. Two scripts for the same change, alternated round by round:
 * `all objects`, every set, map and chain of the policy deleted and declared again (the
 * in-place update before docs/adr/026, and still what a read-back state gets), and `changed
 * objects`, only those whose text changed (the known state's path). Also the floor: `nft -f` of
 * an empty script, spawn included. The rule set is the update figure's (bench/lib/policy-rules.ts:
 * the mixed shape, the last rule's port changed each round).
 */
import { performance } from 'node:perf_hooks';
import { tenantPolicy } from '../../src/agent/policy.js';
import { knownRules, pinElements, rulesetScript } from '../../src/datapath/nft.js';
import { buildPlan, type TenantPlan } from '../../src/datapath/plan.js';
import { ep, host, net } from '../../src/datapath/testing/objects.js';
import { policy } from '../../src/policy/testing/objects.js';
import { run } from '../../src/policy/testing/scratch.js';
import { updateBase, updateRule } from './policy-rules.js';
import { median } from './stats.js';

const red = { ...net('bench', 'red', '10.1.0.0/16', 4101), policies: ['p'] };
const green = { ...net('bench', 'green', '10.2.0.0/16', 4102), policies: ['p'] };
const endpoints = [ep('c1', red, 'h1', '10.1.0.2', '/run/netns/w1'), ep('c2', green, 'h1', '10.2.0.2', '/run/netns/w2')];
const BASE = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red, green], endpoints, hosts: [host('h1', '10.0.0.1')] }).tenants[0]!;

function planFor(n: number, round: number): TenantPlan {
  const rules = [...updateBase(n, '10.1', 'red', 'green').slice(0, n - 1), updateRule(round, 'red', 'green')];
  return { ...BASE, policy: tenantPolicy([red, green], endpoints, [policy('p', rules)])?.nft };
}

export interface ChangeCost {
  rules: number;
  all: number[];
  changed: number[];
  empty: number[];
  chars: { all: number; changed: number };
}

/** `rounds` one-rule changes of an `n`-rule policy, each loaded both ways (order alternating). */
export function changeCost(ns: string, n: number, rounds: number): ChangeCost {
  const load = (script: string) => {
    const t0 = performance.now();
    run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], script);
    return performance.now() - t0;
  };
  const out: ChangeCost = { rules: n, all: [], changed: [], empty: [], chars: { all: 0, changed: 0 } };
  let known = planFor(n, 0);
  run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], `flush ruleset\n${rulesetScript(known).script}`);
  for (let r = 1; r <= rounds * 2; r++) {
    const next = planFor(n, r);
    const k = knownRules(known);
    const have = { base: k.nftBase, objects: k.nftObjects, pinned: pinElements(known) };
    const changed = (r + Math.floor(r / 2)) % 2 === 0; // both kinds, in rotating order
    const script = rulesetScript(next, changed ? { ...have, texts: k.nftTexts } : have).script;
    (changed ? out.changed : out.all).push(load(script));
    out.chars[changed ? 'changed' : 'all'] = script.length;
    out.empty.push(load(''));
    known = next;
  }
  return out;
}

export const changeRow = (c: ChangeCost): (string | number)[] => [
  c.rules,
  `${median(c.all).toFixed(1)} (${c.chars.all} chars)`,
  `${median(c.changed).toFixed(1)} (${c.chars.changed} chars)`,
  (median(c.changed) / median(c.all)).toFixed(2),
  median(c.empty).toFixed(1),
];
