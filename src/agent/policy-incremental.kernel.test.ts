/**
 * An in-place policy update that rewrites only the objects whose text changed (src/datapath/
 * nft.ts, docs/adr/026) must leave the kernel exactly where a whole load of the new policy
 * leaves it. Two scratch namespaces follow the same seeded random sequence of edits (a rule
 * replaced, added or removed, a policy attached or detached, an endpoint relabelled): one
 * receives each change in place against the plan it last loaded, the other the whole ruleset
 * every time; after every edit their `nft list ruleset` must be equal, blocks sorted (nft lists
 * objects in creation order, which the two paths do not share). A failure prints the seed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan, type TenantPlan } from '../datapath/plan.js';
import { knownRules, pinElements, rulesetScript } from '../datapath/nft.js';
import { ep, host, net } from '../datapath/testing/objects.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import type { Policy } from '../model/policy.js';
import type { CompileInput } from '../policy/compile.js';
import { rule } from '../policy/testing/objects.js';
import { pick, randomRule, randomTenant, rng, type Rand } from '../policy/testing/random.js';
import { run, withScratch } from '../policy/testing/scratch.js';
import { tenantPolicy } from './policy.js';

const skip = kernelSkip('incremental policy update tests', ['ip', 'nft']);

const red = net('acme', 'red', '10.1.0.0/24', 4101);
const green = net('acme', 'green', '10.2.0.0/24', 4102);
const endpoints = [ep('c1', red, 'h1', '10.1.0.10', '/run/netns/w1'), ep('c2', green, 'h1', '10.2.0.10', '/run/netns/w2')];
const BASE = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red, green], endpoints, hosts: [host('h1', '10.0.0.1')] }).tenants[0]!;

const planOf = (t: CompileInput): TenantPlan => ({ ...BASE, policy: tenantPolicy(t.networks, t.endpoints, t.policies)?.nft });

/** One random edit of the tenant, in place; says what it did. */
function edit(r: Rand, t: CompileInput): string {
  const p = pick(r, t.policies);
  const x = r();
  const replace = (rules: string[]) => Object.assign(p, { rules: rules.map(rule) } satisfies Partial<Policy>);
  const texts = p.rules.map((x) => x.text);
  if (x < 0.35) {
    const i = Math.floor(r() * texts.length);
    texts[i] = randomRule(r, t.networks, t.endpoints);
    replace(texts);
    return `${p.name} rule ${i + 1} replaced`;
  }
  if (x < 0.55) {
    texts.push(randomRule(r, t.networks, t.endpoints));
    replace(texts);
    return `${p.name} rule added`;
  }
  if (x < 0.7 && texts.length > 1) {
    texts.splice(Math.floor(r() * texts.length), 1);
    replace(texts);
    return `${p.name} rule removed`;
  }
  if (x < 0.85) {
    const n = pick(r, t.networks);
    const has = (n.policies ?? []).includes(p.name);
    n.policies = has ? n.policies!.filter((q) => q !== p.name) : [...(n.policies ?? []), p.name];
    return `${p.name} ${has ? 'detached from' : 'attached to'} ${n.name}`;
  }
  const e = pick(r, t.endpoints);
  e.labels = r() < 0.5 ? {} : { tier: pick(r, ['web', 'db', 'app']) };
  return `${e.id} relabelled ${JSON.stringify(e.labels)}`;
}

/** `nft list ruleset` with each table's top-level blocks sorted: equal content, any creation order. */
function normalised(ns: string): string {
  const text = run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'ruleset']);
  return text
    .split(/^(?=table )/m)
    .map((table) => {
      const lines = table.trimEnd().split('\n');
      const blocks: string[] = [];
      for (const l of lines.slice(1, -1)) {
        if (/^\t\S/.test(l)) blocks.push(l);
        else if (blocks.length) blocks[blocks.length - 1] += `\n${l}`;
      }
      return [lines[0], ...blocks.filter((b) => b.trim()).sort(), lines[lines.length - 1]].join('\n');
    })
    .sort()
    .join('\n');
}

describe('an incremental policy update in the kernel', { skip }, () => {
  it('leaves exactly the ruleset a whole load of the new policy leaves, over random edits', async () => {
    const base = Number(process.env.POLICY_SEED ?? 7300);
    await withScratch('polinc', async (inc) => {
      await withScratch('polful', async (full) => {
        let smaller = 0;
        for (let seed = base; seed < base + 5; seed++) {
          const r = rng(seed);
          const t = randomTenant(r);
          let known = planOf(t);
          const load = (ns: string, script: string) => run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], script);
          load(inc, `flush ruleset\n${rulesetScript(known).script}`);
          for (let step = 1; step <= 20; step++) {
            const what = edit(r, t);
            const next = planOf(t);
            const k = knownRules(known);
            const inPlace = rulesetScript(next, { base: k.nftBase, objects: k.nftObjects, texts: k.nftTexts, pinned: pinElements(known) });
            const whole = rulesetScript(next);
            const tag = `seed ${seed} (POLICY_SEED=${seed}) edit ${step}: ${what}`;
            assert.ok(inPlace.inPlace, tag);
            if (inPlace.script.length < whole.script.length) smaller++;
            load(inc, inPlace.script);
            load(full, `flush ruleset\n${whole.script}`);
            assert.equal(normalised(inc), normalised(full), `${tag}\n--- in-place script:\n${inPlace.script}`);
            known = next;
          }
        }
        assert.ok(smaller > 0, 'some in-place scripts are smaller than the whole ruleset');
      });
    });
  });
});
