/**
 * trackedNetworks: the networks whose bridges need br_netfilter. Held to what it promises on
 * random rule sets: a flow that touches an untracked network gets from the rules what it
 * would get without meeting them where it is bridged (allowed inside a network, refused
 * between networks where it is routed), while some networks do stay untracked (the positive
 * control: "track everything" would pass the first half alone).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contains, parseCidr, parseIp } from '../base/cidr.js';
import { checkFlow } from './check.js';
import { compileTenant, type CompileInput } from './compile.js';
import { ep, net, policy } from './testing/objects.js';
import { randomFlow, randomTenant, rng } from './testing/random.js';
import { trackedNetworks } from './tracked.js';

const netOf = (t: CompileInput, ip: string) => t.networks.find((n) => contains(parseCidr(n.subnet)!, parseIp(ip)!))?.name;

describe('trackedNetworks', () => {
  it('tracks the networks a rule can decide flows of, and no other', () => {
    const red = net('red', '10.1.0.0/24', ['web-db']);
    const green = net('green', '10.2.0.0/24');
    const blue = net('blue', '10.3.0.0/24');
    const t: CompileInput = {
      networks: [red, green, blue],
      endpoints: [ep('a', red, '10.1.0.2'), ep('b', green, '10.2.0.2'), ep('c', blue, '10.3.0.2')],
      policies: [policy('web-db', ['allow tcp from net:red to net:green port 5432']), policy('fence', ['deny udp from net:blue to net:blue'])],
    };
    assert.deepEqual(trackedNetworks(compileTenant(t)), ['green', 'red'], 'red and green: the allowed flow between them; blue has no policy in force');
    blue.policies = ['fence'];
    assert.deepEqual(trackedNetworks(compileTenant(t)), ['blue', 'green', 'red'], 'a rule inside blue');
    red.policies = [];
    blue.policies = [];
    assert.deepEqual(trackedNetworks(compileTenant(t)), [], 'nothing attached');
  });

  it('leaves a network untracked when its rules cannot change a bridged flow', () => {
    const red = net('red', '10.1.0.0/24');
    const green = net('green', '10.2.0.0/24', ['g']);
    const t: CompileInput = { networks: [red, green], endpoints: [ep('a', red, '10.1.0.2'), ep('b', green, '10.2.0.2')], policies: [policy('g', ['allow tcp from net:green to net:green port 80', 'reject tcp from any to net:green port 22'])] };
    assert.deepEqual(trackedNetworks(compileTenant(t)), ['green'], 'red -> green can only be rejected: it is refused where it is routed');
    t.policies = [policy('g', ['allow tcp from net:green to net:green port 80'])];
    assert.deepEqual(trackedNetworks(compileTenant(t)), [], 'an allow inside green allows what is allowed anyway');
    t.policies = [policy('g', ['allow tcp from net:green to net:green port 80 log'])];
    assert.deepEqual(trackedNetworks(compileTenant(t)), ['green'], 'a logged rule must see the flow');
  });

  it('never leaves a flow that needs the rules on an untracked network (random rule sets)', () => {
    const base = Number(process.env.POLICY_SEED ?? 9001);
    let untracked = 0;
    for (let seed = base; seed < base + 300; seed++) {
      const r = rng(seed);
      const t = randomTenant(r);
      const compiled = compileTenant(t);
      const tracked = new Set(trackedNetworks(compiled));
      untracked += t.networks.filter((n) => !tracked.has(n.name)).length;
      for (let i = 0; i < 40; i++) {
        const f = randomFlow(r, t);
        const [s, d] = [netOf(t, f.src), netOf(t, f.dst)];
        if ([s, d].every((n) => n === undefined || tracked.has(n))) continue;
        const got = checkFlow(compiled, f);
        const logged = got.rule !== undefined && / log$/.test(got.rule.text);
        // Untracked, the flow never meets a rule where it is bridged: inside a network it must be
        // allowed, unlogged; between networks (or with the outside) it must be refused where it is routed.
        const ok = s !== undefined && s === d ? got.verdict === 'allow' && !logged : got.verdict !== 'allow';
        assert.ok(ok, `seed ${seed} (POLICY_SEED=${seed}): ${JSON.stringify(f)} ${got.verdict} by ${got.reason}, yet ${[s, d].join('/')} not all tracked`);
      }
    }
    assert.ok(untracked > 50, `some networks stay untracked (${untracked})`);
  });
});
