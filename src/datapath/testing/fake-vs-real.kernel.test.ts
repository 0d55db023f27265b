/**
 * The fake kernel is only worth its 600 lines while it behaves like Linux. This drives the
 * same walk through the reconcile table (reconcile.test.ts: tenants come and go on h1, a port
 * moves, a VNI is reused, MTU and VTEPs change) through Datapath.set() on FakeKernel and on
 * the real kernel (namespaces with a fresh prefix, removed even on failure), and after every
 * step compares what observeTenant() reads back from both: links (kind, master, MTU, MAC
 * where the plan sets it, up, addresses, VXLAN attributes), FDB, neighbours, the nft hash
 * and the pinned set; each workload's interfaces (kind, MTU, MAC, up, addresses) and
 * default routes, also after drift made inside workloads (states.ts WORKLOAD_DRIFTS); and the
 * handoff host sides waiting in h1's own namespace (MAC, MTU, down). On
 * the real kernel a second set() must also change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../base/logger.js';
import { Datapath } from '../datapath.js';
import { isHandoff } from '../names.js';
import { listNamespaces, observeTenant, parseLinks } from '../observe.js';
import { buildPlan, type HostPlan } from '../plan.js';
import type { CommandRunner } from '../runner.js';
import type { TenantState } from '../state.js';
import { FakeKernel } from './fake-kernel.js';
import { kernelSkip } from './kernel-env.js';
import { fakeOwnership } from './ownership.js';
import { stateTable, WORKLOAD_DRIFTS, WORKLOADS, type State } from './states.js';
import { observeWorkloads } from '../workload.js';
import { TestUnderlay } from './underlay.js';

const u = new TestUnderlay();
const H1 = '10.0.0.1';
const H1_MOVED = '10.0.0.11';
const wl = (name: string) => `/run/netns/${u.workloadNs(name)}`;

// The reconcile table (testing/states.ts), on workloads that are real namespaces.
const { states: STATES } = stateTable(wl);
const both = STATES.find((x) => x.name === 'both')!;
/** Every state, most transitions of interest (a VTEP back and forth, a VNI reused, MTU down and up), ending empty. */
const WALK = ['acme', 'both', 'h3-vtep', 'h1-vtep', 'both', 'yellow', 'mtu', 'beta-only', 'both', 'none-here', 'yellow', 'acme', 'none-here'];

function planOf(s: State, nsPrefix: string): HostPlan {
  const h = s.hosts.find((x) => x.name === 'h1')!;
  return buildPlan({ host: 'h1', vtep: h.vtep, underlayMtu: 1500, underlay: 'default', nsPrefix, networks: s.networks, endpoints: s.endpoints, hosts: s.hosts });
}

/** observeTenant() reduced to what both kernels must agree on, as sorted plain data. */
function normalize(s: TenantState): unknown {
  const links = [...s.links.values()]
    .map((l) => ({
      ...l,
      // The kernel picks veth and VXLAN MACs at random; the plan sets only the bridges' (the gateway MAC).
      mac: l.kind === 'bridge' ? l.mac : '(kernel-chosen)',
      addrs: [...l.addrs].sort(),
      master: l.master ?? null,
      vxlan: l.vxlan ?? null,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const fdb = s.fdb.map((e) => `${e.kind} ${e.dev} ${e.mac} ${e.dst ?? ''}`).sort();
  const neigh = s.neigh.map((n) => `${n.dev} ${n.ip} ${n.mac}`).sort();
  return { exists: s.exists, links, fdb, neigh, nftHash: s.nftHash ?? null, pinned: s.pinned };
}

/** The workload side of the ports, as workload.ts reads it: every interface but lo (MAC included: the plan sets it), and the default routes. */
async function observeWorkload(runner: CommandRunner, path: string): Promise<unknown> {
  const w = (await observeWorkloads(runner, [path])).get(path)!;
  if (w instanceof Error) throw w;
  const ifaces = [...w.ifaces.values()].filter((l) => l.name !== 'lo').map((l) => ({ ...l, addrs: [...l.addrs].sort() }));
  return { ifaces: ifaces.sort((a, b) => a.name.localeCompare(b.name)), defaults: [...w.defaults].sort() };
}

/** Handoff host sides still in h1's own namespace (handoff.ts): MAC and MTU are the plan's. */
async function observeHandoffs(runner: CommandRunner): Promise<unknown> {
  const raw = (await runner.run(['ip', '-n', u.hosts.get('h1')!.ns, '-j', '-d', 'addr', 'show'])).stdout;
  return [...parseLinks(raw, isHandoff).values()].map((l) => ({ ...l, master: l.master ?? null, vxlan: l.vxlan ?? null })).sort((a, b) => a.name.localeCompare(b.name));
}

async function observeAll(runner: CommandRunner, namespaces: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { '(h1 handoffs)': await observeHandoffs(runner) };
  for (const ns of namespaces) out[ns] = normalize(await observeTenant(runner, ns, true));
  for (const w of WORKLOADS) out[w] = await observeWorkload(runner, wl(w));
  return out;
}

describe('the fake kernel against the real one', { skip: kernelSkip('fake kernel vs real kernel') }, () => {
  let real: Datapath;
  let fake: FakeKernel;
  let fakeDp: Datapath;
  let nsPrefix = '';

  before(async () => {
    await u.create(['h1']);
    const h1 = u.hosts.get('h1')!;
    nsPrefix = `${h1.ns}-`;
    // The VTEPs h1 uses in the table must be its own addresses (a VXLAN socket binds to them).
    await u.runner.run(['ip', '-n', h1.ns, '-batch', '-'], { input: `addr add ${H1}/24 dev eth0\naddr add ${H1_MOVED}/24 dev eth0\n` });
    for (const w of WORKLOADS) await u.workload(w);
    real = new Datapath(u.runner, silentLogger, { hostNs: h1.ns });
    fake = new FakeKernel(h1.ns);
    for (const w of WORKLOADS) fake.addWorkload(wl(w));
    fakeDp = new Datapath(fake, silentLogger, { hostNs: h1.ns, listNamespaces: () => fake.listNamespaces(), ownership: fakeOwnership(fake) });
  });
  after(() => u.destroy());

  it('the same walk of plans gives the same observed state on both, at every step', async () => {
    const path: string[] = [];
    for (const name of WALK) {
      path.push(name);
      const context = `after ${path.join(' -> ')}`;
      const plan = planOf(STATES.find((s) => s.name === name)!, nsPrefix);
      const [r, f] = [await real.set(plan), await fakeDp.set(plan)];
      const failures = (x: typeof r) => [...x.failedPorts, ...x.failedNamespaces].map(([k, e]) => `${k}: ${e.message}`);
      assert.deepEqual(failures(r), [], `${context}: the real kernel refused`);
      assert.deepEqual(failures(f), [], `${context}: the fake kernel refused`);
      assert.deepEqual(f.changed, r.changed, `${context}: changed namespaces differ`);
      const realNs = (await listNamespaces()).filter((n) => n.startsWith(nsPrefix));
      assert.deepEqual(await fake.listNamespaces(), realNs, `${context}: tenant namespaces differ`);
      const observed = await observeAll(u.runner, realNs);
      assert.deepEqual(await observeAll(fake, realNs), observed, `${context}: observed state differs (actual: fake, expected: real)`);
      const links = realNs.reduce((n, ns) => n + ((observed[ns] as { links: unknown[] }).links.length), 0);
      const planned = plan.tenants.reduce((n, t) => n + 2 * t.networks.length + t.ports.length, 0);
      assert.equal(links, planned, `${context}: the comparison saw every planned link (it is not vacuous)`);
      const handoffs = plan.tenants.flatMap((t) => t.ports).filter((p) => p.handoff !== undefined).length;
      assert.equal((observed['(h1 handoffs)'] as unknown[]).length, handoffs, `${context}: every handoff's host side is in h1's namespace`);
      assert.deepEqual((await new Datapath(u.runner, silentLogger, { hostNs: u.hosts.get('h1')!.ns }).set(plan)).changed, [], `${context}: a second set() on the real kernel changed something`);
    }
  });

  it('changes made behind the datapath read back the same, and are repaired the same', async () => {
    const plan = planOf(both, nsPrefix);
    await real.set(plan);
    await fakeDp.set(plan);
    const acme = `${nsPrefix}acme`;
    const beta = `${nsPrefix}beta`;
    const port = plan.tenants.find((t) => t.tenant === 'beta')!.ports[0]!.port;
    const edits: [string[], string?][] = [
      [['ip', '-n', acme, 'link', 'set', 'tnbr4101', 'address', '02:00:00:00:00:01', 'down']],
      [['ip', '-n', acme, 'addr', 'del', '192.168.10.1/24', 'dev', 'tnbr4101']],
      [['ip', '-n', acme, 'addr', 'add', '10.99.0.1/24', 'dev', 'tnbr4101']],
      [['ip', '-n', acme, 'neigh', 'del', '192.168.10.3', 'dev', 'tnvx4101']],
      [['ip', '-n', acme, 'link', 'set', 'tnvx4102', 'mtu', '1300']],
      [['ip', '-n', beta, 'link', 'del', 'tnvx4201']],
      [['ip', '-n', beta, 'link', 'set', port, 'down']],
      [['bridge', '-n', acme, '-batch', '-'], 'fdb del 00:00:00:00:00:00 dev tnvx4101 dst 10.0.0.2 self\nfdb append 00:00:00:00:00:00 dev tnvx4101 dst 10.9.9.9 self permanent\n'],
      [['nsenter', `--net=/run/netns/${acme}`, 'nft', '-f', '-'], 'delete table inet tenet\n'],
      [['ip', '-n', acme, 'link', 'set', 'tnbr4102', 'type', 'bridge', 'nf_call_iptables', '1']], // br_netfilter on green, with no policy
    ];
    for (const d of WORKLOAD_DRIFTS) edits.push([['nsenter', `--net=${wl(d.workload)}`, 'ip', '-batch', '-'], d.commands.join('\n') + '\n']);
    for (const [argv, input] of edits) {
      await u.runner.run(argv, { input });
      await fake.run(argv, { input });
    }
    const namespaces = [acme, beta];
    const edited = await observeAll(u.runner, namespaces);
    assert.deepEqual(await observeAll(fake, namespaces), edited, 'the edits read back differently (actual: fake, expected: real)');
    assert.deepEqual((edited[WORKLOADS[0]!] as { defaults: string[] }).defaults, [], 'the drift took a1\'s default route (the comparison is not vacuous)');
    assert.match(JSON.stringify(edited[acme]), /"name":"tnbr4102"[^}]*"tracked":true/, "green's bridge reads back tracked (not vacuous)");
    const [r, f] = [await real.set(plan), await fakeDp.set(plan)];
    assert.deepEqual([f.changed, [...f.failedPorts.keys()]], [r.changed, [...r.failedPorts.keys()]]);
    const repaired = await observeAll(u.runner, namespaces);
    assert.deepEqual(await observeAll(fake, namespaces), repaired, 'the repair differs (actual: fake, expected: real)');
    assert.doesNotMatch(JSON.stringify(repaired[acme]), /"tracked":true/, 'no policy: br_netfilter off again on every bridge');
  });
});
