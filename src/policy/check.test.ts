/**
 * checkFlow walks the compiled form; this test holds it to the rule semantics written
 * straight from src/model/policy.ts (the reference below knows nothing of sets, chains or
 * merging) on seeded random rule sets and flows. A failure prints the seed to replay.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, parseIp, contains } from '../base/cidr.js';
import type { PolicyRule, Selector } from '../model/policy.js';
import { checkFlow, type Flow } from './check.js';
import { compileTenant, type CompileInput } from './compile.js';
import { ep, net, policy } from './testing/objects.js';
import { randomFlow, randomTenant, rng } from './testing/random.js';

function netOf(t: CompileInput, ip: string): string | undefined {
  return t.networks.find((n) => contains(parseCidr(n.subnet)!, parseIp(ip)!))?.name;
}

function selects(t: CompileInput, s: Selector, ip: string): boolean {
  switch (s.kind) {
    case 'any': return true;
    case 'net': return netOf(t, ip) === s.name;
    case 'cidr': return contains(parseCidr(s.cidr)!, parseIp(ip)!);
    case 'ep': return t.endpoints.some((e) => e.id === s.id && e.ip === ip);
    case 'group': return t.endpoints.some((e) => e.ip === ip && e.labels[s.key] === s.value);
  }
}

function ruleMatches(t: CompileInput, r: PolicyRule, f: Flow): boolean {
  if (r.proto !== 'any' && r.proto !== f.proto) return false;
  if (r.ports.length && (f.port === undefined || !r.ports.some((p) => f.port! >= p.from && f.port! <= p.to))) return false;
  return selects(t, r.from, f.src) && selects(t, r.to, f.dst);
}

/** The spec, read literally. */
function reference(t: CompileInput, f: Flow): { verdict: string; rule?: string } {
  const s = netOf(t, f.src);
  const d = netOf(t, f.dst);
  const attached = new Set(t.networks.filter((n) => n.name === s || n.name === d).flatMap((n) => n.policies ?? []));
  const rules = t.policies
    .filter((p) => attached.has(p.name))
    .flatMap((p) => p.rules.map((r, i) => ({ r, id: `${p.name}#${i + 1}`, policy: p.name, index: i + 1 })))
    .sort((a, b) => a.r.priority - b.r.priority || Number(a.r.action === 'allow') - Number(b.r.action === 'allow') || (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : a.index - b.index));
  const hit = rules.find((x) => ruleMatches(t, x.r, f));
  if (hit) return { verdict: hit.r.action, rule: hit.id };
  return { verdict: s !== undefined && s === d ? 'allow' : 'deny' };
}

describe('checkFlow', () => {
  it('agrees with the reference on random rule sets and flows', () => {
    const base = Number(process.env.POLICY_SEED ?? 7001);
    let flows = 0;
    for (let seed = base; seed < base + 300; seed++) {
      const r = rng(seed);
      const t = randomTenant(r);
      const compiled = compileTenant(t);
      for (let i = 0; i < 40; i++, flows++) {
        const f = randomFlow(r, t);
        const got = checkFlow(compiled, f);
        const want = reference(t, f);
        const have = { verdict: got.verdict, ...(got.rule ? { rule: `${got.rule.policy}#${got.rule.index}` } : {}) };
        assert.deepEqual(have, want, `seed ${seed} (POLICY_SEED=${seed}), flow ${JSON.stringify(f)}, reason ${got.reason}`);
      }
    }
    assert.ok(flows >= 10000);
  });

  it('names the deciding rule and the default', () => {
    const red = net('red', '10.1.0.0/24', ['web-db']);
    const green = net('green', '10.2.0.0/24', ['web-db']);
    const blue = net('blue', '10.3.0.0/24');
    const t: CompileInput = {
      networks: [red, green, blue],
      endpoints: [ep('a', red, '10.1.0.2', { tier: 'web' }), ep('b', green, '10.2.0.2', { tier: 'db' }), ep('c', blue, '10.3.0.2')],
      policies: [policy('web-db', ['allow tcp from net:red to net:green port 5432', 'deny udp from any to any priority 5'])],
    };
    const c = compileTenant(t);
    assert.deepEqual(checkFlow(c, { src: '10.1.0.2', dst: '10.2.0.2', proto: 'tcp', port: 5432 }).rule, { policy: 'web-db', index: 1, text: 'allow tcp from net:red to net:green port 5432' });
    assert.equal(checkFlow(c, { src: '10.1.0.2', dst: '10.2.0.2', proto: 'tcp', port: 22 }).reason, 'default: isolated networks');
    assert.equal(checkFlow(c, { src: '10.1.0.2', dst: '10.3.0.2', proto: 'udp', port: 53 }).rule?.index, 2);
    assert.deepEqual(checkFlow(c, { src: '10.3.0.2', dst: '10.3.0.9', proto: 'icmp' }), { verdict: 'allow', reason: 'default: same network, no policy in force' });
    assert.equal(checkFlow(t, { src: '10.1.0.2', dst: '10.1.0.3', proto: 'tcp', port: 1 }).verdict, 'allow');
  });
});
