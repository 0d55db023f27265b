/**
 * The policy parts of a plan without root: where a compiled fragment lands in `inet tenet`,
 * the br_netfilter and flow-recheck steps, and the tc commands of rate limits, including that
 * a state which already matches (read back or known, fastpath.ts) asks for nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffTenant, isNoop } from './diff.js';
import { knownState } from './fastpath.js';
import { knownRules, rulesetScript } from './nft.js';
import { buildPlan, type TenantPolicy } from './plan.js';
import { emptyTenantState } from './state.js';
import { ep, host, net } from './testing/objects.js';

const red = net('acme', 'red', '192.168.10.0/24', 4101);
const green = net('acme', 'green', '192.168.20.0/24', 4102);
const endpoints = [ep('c1', red, 'h1', '192.168.10.2', '/run/netns/w1'), ep('c2', green, 'h1', '192.168.20.2', '/run/netns/w2')];
const FRAGMENT = { sets: 'set s { type ipv4_addr; }', chains: 'chain p {\n  ip saddr @s drop\n}', forwardRules: 'jump p', hash: 'v1' };

const planWith = (policy?: TenantPolicy) =>
  buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red, green], endpoints, hosts: [host('h1', '10.0.0.1')], policyFor: () => policy }).tenants[0]!;

test('a policy fragment lands after the conntrack rule, then the same-network default, in one table', () => {
  const { script } = rulesetScript(planWith({ nft: FRAGMENT }));
  const inet = script.slice(script.indexOf('table inet tenet {'), script.indexOf('table bridge'));
  assert.match(inet, /\n  set s \{ type ipv4_addr; \}\n  chain p \{\n  ip saddr @s drop\n  \}\n  chain forward \{/);
  assert.match(inet, /ct state established,related accept comment "tenet:[0-9a-f]{16} policy\/bridges"\n    ct status dnat accept\n    jump p\n    ip saddr \. ip daddr \{ 192\.168\.10\.0\/24 \. 192\.168\.10\.0\/24, 192\.168\.20\.0\/24 \. 192\.168\.20\.0\/24 \} accept\n  \}/);
  assert.doesNotMatch(rulesetScript(planWith()).script, /policy"|jump|ip saddr \./, 'no policy: the ruleset of issue 2');
});

test('br_netfilter follows the policy per bridge; established flows are rechecked when a policy comes, changes or goes', () => {
  const none = planWith();
  const v1 = planWith({ nft: FRAGMENT });
  const v2 = planWith({ nft: { ...FRAGMENT, forwardRules: 'jump p\nip daddr @s drop' } });
  const [r, g] = ['tnbr4101', 'tnbr4102'];
  const fresh = diffTenant('tn-acme', v1, emptyTenantState());
  assert.deepEqual([fresh.trackOn, fresh.trackOff], [[r, g], []], 'no tracked list: every network');
  assert.equal(fresh.recheckFlows, undefined, 'a new namespace has no flows');
  assert.deepEqual(diffTenant('tn-acme', none, emptyTenantState()).trackOn, [], 'made with br_netfilter off');
  const on = diffTenant('tn-acme', v1, knownState(none));
  assert.deepEqual(on.trackOn, [r, g]);
  assert.ok(on.recheckFlows);
  const changed = diffTenant('tn-acme', v2, knownState(v1));
  assert.deepEqual([changed.trackOn, changed.trackOff], [[], []], 'already on');
  assert.ok(changed.recheckFlows);
  const off = diffTenant('tn-acme', none, knownState(v1));
  assert.deepEqual(off.trackOff, [r, g]);
  assert.ok(off.recheckFlows, 'flows the removed policy allowed between networks are cut');
  assert.ok(isNoop(diffTenant('tn-acme', v1, knownState(v1))));
});

test('only the bridges of tracked networks get br_netfilter; a change of the list moves it, with no ruleset load', () => {
  const redOnly = planWith({ nft: { ...FRAGMENT, tracked: [4101] } });
  const greenOnly = planWith({ nft: { ...FRAGMENT, tracked: [4102] } });
  assert.deepEqual(redOnly.networks.map((n) => n.tracked ?? false), [true, false]);
  assert.deepEqual(diffTenant('tn-acme', redOnly, emptyTenantState()).trackOn, ['tnbr4101']);
  const moved = diffTenant('tn-acme', greenOnly, knownState(redOnly));
  assert.deepEqual([moved.trackOn, moved.trackOff, moved.nft], [['tnbr4102'], ['tnbr4101'], undefined]);
  assert.ok(!isNoop(moved));
  assert.ok(isNoop(diffTenant('tn-acme', greenOnly, knownState(greenOnly))));
});

test('a namespace where an older Tenet switched br_netfilter on namespace-wide is reloaded once and the switch goes off', () => {
  const v1 = planWith({ nft: { ...FRAGMENT, tracked: [4101] } });
  const legacy = { ...knownState(v1), brnfSysctl: true };
  const steps = diffTenant('tn-acme', v1, legacy);
  assert.ok(steps.brnfSysctlOff);
  assert.match(steps.nft!, /comment "tenet:[0-9a-f]{16} policy\/bridges"/, 'the comment no longer says namespace-wide');
  assert.equal(diffTenant('tn-acme', v1, knownState(v1)).brnfSysctlOff, undefined);
});

test('a policy change on tables of known structure is loaded in place; anything else replaces both tables', () => {
  const v1 = planWith({ nft: FRAGMENT });
  const v2 = planWith({ nft: { ...FRAGMENT, sets: 'set t { type ipv4_addr; }', chains: 'chain q {\n  ip saddr @t drop\n}', forwardRules: 'jump q' } });
  const known = { ...knownState(v1), ...knownRules(v1) };
  const steps = diffTenant('tn-acme', v2, known);
  assert.ok(steps.nft && steps.recheckFlows);
  assert.match(steps.nft, /^flush chain inet tenet forward\nflush chain inet tenet input\nflush chain inet tenet p\ndelete chain inet tenet p\ndelete set inet tenet s\ntable inet tenet \{\n  set t/);
  assert.match(steps.nft, /add rule inet tenet forward jump q\n/);
  assert.doesNotMatch(steps.nft, /delete table|table bridge/, 'no table replaced, no hook re-registered, pinning untouched');
  assert.match(diffTenant('tn-acme', v2, knownState(v1)).nft!, /^table inet tenet \{\}\ndelete table inet tenet\n/, 'structure unknown: whole');
  assert.match(diffTenant('tn-acme', v2, { ...known, nftBase: 'other' }).nft!, /delete table inet tenet/, 'another structure: whole');
  const off = diffTenant('tn-acme', planWith(), known);
  assert.match(off.nft!, /delete chain inet tenet p\ndelete set inet tenet s\nadd rule/, 'the policy goes in place too');
  assert.deepEqual(off.trackOff, ['tnbr4101', 'tnbr4102']);
});

test('rate limits: tbf on the port for what the endpoint receives, ifb + mirred for what it sends; nothing when current', () => {
  const limited = planWith({ rates: new Map([['c1', { egressBps: 20e6, ingressBps: 50e6 }], ['c2', { ingressBps: 1e6 }]]) });
  const [p1, p2] = limited.ports.map((p) => p.port);
  const c1Port = limited.ports.find((p) => p.endpointId === 'c1')!.port;
  const c2Port = limited.ports.find((p) => p.endpointId === 'c2')!.port;
  assert.ok(p1 && p2);
  const steps = diffTenant('tn-acme', limited, knownState(planWith()));
  const byPort = new Map(steps.rates.map((r) => [r.plan.port, r]));
  const c1 = byPort.get(c1Port)!;
  const q1 = `tnq${c1Port.slice(3)}`;
  assert.deepEqual(c1.clear, [`qdisc del dev ${c1Port} root`, `qdisc del dev ${c1Port} ingress`]);
  assert.deepEqual(c1.ip, [`link add ${q1} type ifb`, `link set ${q1} alias tenet-rate:20000000:50000000 up`]);
  assert.deepEqual(c1.tc, [
    `qdisc replace dev ${c1Port} root tbf rate 50000000bit burst 62500 latency 50ms`,
    `qdisc replace dev ${q1} root tbf rate 20000000bit burst 25000 latency 50ms`,
    `qdisc add dev ${c1Port} ingress`,
    `filter add dev ${c1Port} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ${q1}`,
  ]);
  assert.deepEqual(c1.record, [`link set ${c1Port} alias tenet-rate:20000000:50000000`]);
  assert.deepEqual(byPort.get(c2Port)!.tc, [`qdisc replace dev ${c2Port} root tbf rate 1000000bit burst 16000 latency 50ms`]);
  assert.ok(isNoop(diffTenant('tn-acme', limited, knownState(limited))), 'limits in place: no command');

  const lifted = diffTenant('tn-acme', planWith(), knownState(limited));
  assert.deepEqual(lifted.cleanup, [`link del ${q1}`], "the ifb goes with the port's send limit");
  assert.deepEqual(lifted.rates.find((r) => r.plan.port === c1Port)!.record, [`link set ${c1Port} alias ""`]);
  assert.deepEqual(lifted.rates.find((r) => r.plan.port === c1Port)!.tc, []);
});

test('a limit that is not a whole positive number of bit/s never reaches tc', () => {
  const p = planWith({ rates: new Map([['c1', { egressBps: 0, ingressBps: -5 }]]) });
  assert.equal(p.ports.find((x) => x.endpointId === 'c1')!.rate, undefined);
});
