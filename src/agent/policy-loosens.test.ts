/**
 * `loosens` lets the datapath skip reading conntrack after a policy change (docs/adr/026,
 * addendum), so a wrong "true" would leave an established flow running that the change
 * denies. Proved two ways: by the cases a user meets, and on seeded random tenants and edits
 * against the reference evaluator (checkFlow): whenever `loosens` says true, no flow allowed
 * before is denied after. A failure prints the seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../model/policy.js';
import { checkFlow } from '../policy/check.js';
import type { CompileInput } from '../policy/compile.js';
import { ep, net, policy, rule } from '../policy/testing/objects.js';
import { pick, randomFlow, randomRule, randomTenant, rng, type Rand } from '../policy/testing/random.js';
import { basisOf, CompiledPolicies, loosens } from './policy.js';

const red = net('red', '10.1.0.0/24', ['p']);
const green = net('green', '10.2.0.0/24', ['p']);
const eps = [ep('a', red, '10.1.0.10', { tier: 'web' }), ep('b', green, '10.2.0.10')];
const BASE = ['allow tcp from net:red to net:green port 80', 'deny udp from any to any priority 5'];
const basis = (rules: string[], endpoints = eps, networks = [red, green]) => basisOf(networks, endpoints, [policy('p', rules)]);

test('only added allows or removed denies loosen; anything else may deny', () => {
  const before = basis(BASE);
  assert.equal(loosens(before, basis([...BASE, 'allow icmp from any to any'])), true, 'allow added');
  assert.equal(loosens(before, basis([BASE[0]!])), true, 'deny removed');
  assert.equal(loosens(before, basis([...BASE].reverse())), true, 'same rules, another order');
  assert.equal(loosens(before, basis([BASE[0]!.replace(' port', '  port'), BASE[1]!])), true, 'same rule, other spacing');
  assert.equal(loosens(before, basis(BASE)), true, 'nothing changed');
  assert.equal(loosens(before, basis([...BASE, 'deny tcp from any to any port 22'])), false, 'deny added');
  assert.equal(loosens(before, basis([...BASE, 'reject icmp from any to any'])), false, 'reject added');
  assert.equal(loosens(before, basis([BASE[1]!])), false, 'allow removed');
  assert.equal(loosens(before, basis(['allow tcp from net:red to net:green port 81', BASE[1]!])), false, 'allow replaced (the update figure)');
  assert.equal(loosens(before, basis([BASE[0]!, 'deny udp from any to any priority 6'])), false, 'priority of a deny changed');
  assert.equal(loosens(before, basis(BASE, [{ ...eps[0]!, labels: { tier: 'db' } }, eps[1]!])), false, 'label changed');
  assert.equal(loosens(before, basis(BASE, [...eps, ep('c', red, '10.1.0.11')])), false, 'endpoint added');
  assert.equal(loosens(before, basis(BASE, eps, [red, { ...green, policies: [] }])), false, 'detached');
});

test('CompiledPolicies names the policy a loosening change follows, and only then', () => {
  const c = new CompiledPolicies();
  const first = c.get('t', [red, green], eps, [policy('p', BASE)])!;
  assert.equal(first.loosens, undefined, 'nothing before it');
  const wider = c.get('t', [red, green], eps, [{ ...policy('p', [...BASE, 'allow icmp from any to any']), updatedAt: '2024-01-02T00:00:00.000Z' }])!;
  assert.equal(wider.loosens, first.nft!.hash);
  const narrower = c.get('t', [red, green], eps, [{ ...policy('p', BASE), updatedAt: '2024-01-03T00:00:00.000Z' }])!;
  assert.equal(narrower.loosens, undefined, 'the allow went again');
});

/** One random edit of a copy of `t`: rules added, removed or replaced, an attachment or a label changed. */
function edited(r: Rand, t: CompileInput): CompileInput {
  const next: CompileInput = structuredClone(t);
  const p = pick(r, next.policies) as Policy;
  const x = r();
  if (x < 0.35) p.rules.push(rule(randomRule(r, next.networks, next.endpoints)));
  else if (x < 0.6 && p.rules.length > 1) p.rules.splice(Math.floor(r() * p.rules.length), 1);
  else if (x < 0.8) p.rules[Math.floor(r() * p.rules.length)] = rule(randomRule(r, next.networks, next.endpoints));
  else if (x < 0.9) {
    const n = pick(r, next.networks);
    n.policies = (n.policies ?? []).includes(p.name) ? n.policies!.filter((q) => q !== p.name) : [...(n.policies ?? []), p.name];
  } else pick(r, next.endpoints).labels = r() < 0.5 ? {} : { tier: 'db' };
  return next;
}

test('random tenants and edits: when loosens says so, no flow allowed before is denied after', () => {
  const seed = Number(process.env.SEED ?? 7);
  const r = rng(seed);
  let judged = { loose: 0, tight: 0 };
  for (let round = 0; round < 300; round++) {
    const before = randomTenant(r);
    const after = edited(r, before);
    const key = (t: CompileInput) => basisOf(t.networks, t.endpoints, t.policies);
    if (!loosens(key(before), key(after))) {
      judged = { ...judged, tight: judged.tight + 1 };
      continue;
    }
    judged = { ...judged, loose: judged.loose + 1 };
    for (let f = 0; f < 40; f++) {
      const flow = randomFlow(r, before);
      if (checkFlow(before, flow).verdict !== 'allow') continue;
      assert.equal(checkFlow(after, flow).verdict, 'allow', `seed ${seed} round ${round}: ${JSON.stringify(flow)} denied after a loosening edit`);
    }
  }
  assert.ok(judged.loose > 30 && judged.tight > 30, `both kinds of edit were met: ${JSON.stringify(judged)}`);
});
