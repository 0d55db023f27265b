import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlan, type PlanInput } from './plan.js';
import { checkTenantPlan } from './plan-check.js';
import { ep, handedOff, host, net } from './testing/objects.js';

const red = net('acme', 'red', '192.168.10.0/24', 4101);
const jumbo = net('acme', 'jumbo', '192.168.30.0/24', 4103, 8000);
const blue = net('beta', 'blue', '192.168.10.0/24', 4201);

function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    host: 'h1',
    vtep: '10.0.0.1',
    underlayMtu: 1500,
    underlay: 'default',
    nsPrefix: 'tn-',
    networks: [red, jumbo, blue],
    hosts: [host('h1', '10.0.0.1'), host('h2', '10.0.0.2'), { ...host('lab1', '10.99.0.2'), underlay: 'lab-x' }],
    endpoints: [
      ep('a1', red, 'h1', '192.168.10.2', '/run/netns/a1'),
      ep('a2', red, 'h2', '192.168.10.3', '/run/netns/a2'),
      ep('a3', red, 'lab1', '192.168.10.4', '/run/netns/a3'),
      ep('j1', jumbo, 'h1', '192.168.30.2', '/run/netns/a1', 'eth1'),
      ep('b2', blue, 'h2', '192.168.10.2', '/run/netns/b2'),
    ],
    ...over,
  };
}

test('plan: only tenants with an endpoint here get a namespace, with all their networks', () => {
  const plan = buildPlan(input());
  assert.deepEqual(plan.tenants.map((t) => t.ns), ['tn-acme']);
  assert.deepEqual(plan.tenants[0]!.networks.map((n) => n.vni), [4101, 4103]);
});

test('plan: remote endpoints only on hosts of the same underlay', () => {
  const redPlan = buildPlan(input()).tenants[0]!.networks[0]!;
  assert.deepEqual(redPlan.remotes.map((r) => r.ip), ['192.168.10.3'], 'the lab host is on another underlay');
  assert.deepEqual(redPlan.floodVteps, ['10.0.0.2']);
  const fromLab = buildPlan(input({ host: 'lab1', vtep: '10.99.0.2', underlay: 'lab-x' })).tenants[0]!.networks[0]!;
  assert.deepEqual(fromLab.remotes, [], 'and the other way round');
});

test('plan: MTU is underlay - 50 unless the network sets one; default route only on eth0', () => {
  const t = buildPlan(input({ underlayMtu: 9000 })).tenants[0]!;
  assert.deepEqual(t.networks.map((n) => n.mtu), [8950, 8000]);
  assert.deepEqual(t.ports.map((p) => [p.ifname, p.defaultRoute]).sort(), [['eth0', true], ['eth1', false]]);
});

test('plan: detached endpoints make no port here and no remote entry elsewhere', () => {
  const base = input();
  const detached = { ...ep('d1', red, 'h1', '192.168.10.9', '/x'), attachment: undefined, status: 'detached' as const };
  const unplaced = { ...detached, id: 'u1', host: undefined, ip: '192.168.10.7' };
  const plan = buildPlan({ ...base, endpoints: [...base.endpoints, detached, unplaced] });
  assert.deepEqual(plan, buildPlan(base), 'the same plan as without them');
  const onlyDetached = buildPlan({ ...base, endpoints: [detached] });
  assert.deepEqual(onlyDetached.tenants, [], 'a tenant with only detached endpoints here gets no namespace');
});

test('plan: a handoff endpoint is a port here (its host side named) and a remote entry elsewhere', () => {
  const base = input();
  const here = handedOff(ep('o1', red, 'h1', '192.168.10.8', ''));
  const there = handedOff(ep('o2', red, 'h2', '192.168.10.9', ''));
  const red1 = buildPlan({ ...base, endpoints: [...base.endpoints, here, there] }).tenants[0]!;
  const port = red1.ports.find((p) => p.endpointId === 'o1')!;
  assert.match(port.handoff!, /^tnh[0-9a-f]{10}$/);
  assert.equal(port.port, `tnv${port.handoff!.slice(3)}`, 'both ends share one hash');
  assert.deepEqual([port.netns, port.bridge, port.mtu, port.mac], ['', 'tnbr4101', 1450, here.mac]);
  assert.deepEqual(red1.networks[0]!.remotes.map((r) => r.ip), ['192.168.10.3', '192.168.10.9']);
  const foreign = { ...here, attachment: { kind: 'handoff' as const, hostIfname: 'veth-o1', ifname: 'eth0' } };
  const refused = checkTenantPlan(buildPlan({ ...base, endpoints: [foreign] }).tenants[0]!);
  assert.match(refused.badPorts.get('o1')!, /not one Tenet makes/, 'a host-side name Tenet did not make is never created or deleted');
});
