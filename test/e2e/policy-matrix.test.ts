/**
 * Issue 7's connectivity matrix on the real kernel: 6 workloads over 2 tenants, 3 networks and
 * 2 hosts (blue, of another tenant, reuses red's subnet on purpose). For each policy state,
 * every ordered pair is probed three ways, ICMP (one ping) and TCP to two ports every workload
 * listens on (one connect bounded to 1 s), and each cell must agree three ways: the matrix
 * written by hand below from the rules, `policy check`'s verdict, and what the kernel did. A
 * TCP `deny` is a dropped SYN (the connect times out), a `reject` a RST (refused at once); a
 * ping cannot tell the two apart. Across tenants nothing ever connects. Denied cells are probed
 * once; the allowed cells of the same state (and blue's own pairs, always open) are their
 * positive controls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';
import { mapBounded, probeTcp, TcpListeners, type TcpOutcome } from '../support/tcp-probe.js';

interface Workload {
  name: string;
  tenant: string;
  network: string;
  host: string;
  labels: Record<string, string>;
  ip?: string;
  id: string;
}

const c = new InProcessCluster();
const W: Workload[] = [
  { name: 'r1', tenant: 'acme', network: 'red', host: 'h1', labels: { tier: 'web' }, id: '' },
  { name: 'r2', tenant: 'acme', network: 'red', host: 'h2', labels: { tier: 'db' }, id: '' },
  { name: 'g1', tenant: 'acme', network: 'green', host: 'h1', labels: { tier: 'db' }, id: '' },
  { name: 'g2', tenant: 'acme', network: 'green', host: 'h2', labels: { tier: 'web' }, id: '' },
  // Distinct host addresses inside red's subnet, so a cross-tenant ping can only reach blue.
  { name: 'b1', tenant: 'other', network: 'blue', host: 'h1', labels: { tier: 'web' }, ip: '192.168.10.50', id: '' },
  { name: 'b2', tenant: 'other', network: 'blue', host: 'h2', labels: { tier: 'db' }, ip: '192.168.10.51', id: '' },
];

/** Two ports every workload listens on; the port rules below allow one and not the other. */
const P = 5432;
const Q = 8080;
const listeners = new TcpListeners();

/**
 * A hand-written matrix: one row per source and one letter per destination, both in W's order
 * (r1 r2 g1 g2 b1 b2; spaces are for the eye). a allow, d deny, r reject, x another tenant
 * (never connects), . the workload itself.
 */
type Matrix = readonly string[];
interface Expected {
  icmp: Matrix;
  tcpP: Matrix;
  tcpQ: Matrix;
}
type ProbeKind = keyof Expected;
const PROBES: { kind: ProbeKind; label: string; proto: 'icmp' | 'tcp'; port?: number }[] = [
  { kind: 'icmp', label: 'icmp', proto: 'icmp' },
  { kind: 'tcpP', label: `tcp/${P}`, proto: 'tcp', port: P },
  { kind: 'tcpQ', label: `tcp/${Q}`, proto: 'tcp', port: Q },
];

const letterAt = (m: Matrix, a: number, b: number) => m[a]!.replace(/ /g, '')[b]!;

/** Every letter of the verdicts the API returns. */
const VERDICT_LETTER: Record<string, string> = { allow: 'a', deny: 'd', reject: 'r' };
/** What the kernel did: a ping answered (a) or not (-); a connect open, timed out, refused, unreachable. */
const TCP_LETTER: Record<TcpOutcome, string> = { open: 'a', timeout: 'd', refused: 'r', unreachable: 'u', error: 'e' };

/** Whether what the kernel did fits the expected letter (a ping cannot tell deny from reject). */
function fits(kind: ProbeKind, want: string, got: string): boolean {
  if (want === 'x') return got !== 'a';
  if (kind === 'icmp') return want === 'a' ? got === 'a' : got === '-';
  return got === want;
}

interface Cell {
  a: number;
  b: number;
  kind: ProbeKind;
  want: string;
  check: string;
  got: string;
}

async function checkVerdict(a: Workload, b: Workload, probe: (typeof PROBES)[number]): Promise<string> {
  if (a.tenant !== b.tenant) return 'x';
  const r = await c.controller.checkPolicy(a.tenant, { from: a.id, to: b.ip!, proto: probe.proto, ...(probe.port ? { port: probe.port } : {}) });
  return VERDICT_LETTER[r.verdict] ?? r.verdict;
}

/** An expected allow gets a few seconds (the datapath may still be converging); a deny one ping. */
async function ping(from: Workload, to: Workload, expectAllow: boolean): Promise<string> {
  const once = () => c.underlay.ping(from.name, to.ip!);
  const ok = expectAllow ? await waitFor(async () => ((await once()) ? true : undefined), 5000, 'ping').catch(() => false) : await once();
  return ok ? 'a' : '-';
}

/** Both ports of every destination from one source in one go; expected-open cells are retried a few seconds. */
async function connects(a: number, cells: Cell[]): Promise<void> {
  const mine = cells.filter((x) => x.a === a && x.kind !== 'icmp');
  const target = (x: Cell) => ({ ip: W[x.b]!.ip!, port: x.kind === 'tcpP' ? P : Q });
  const run = async (batch: Cell[]) => (await probeTcp(c.underlay.runner, c.underlay.workloadNs(W[a]!.name), batch.map(target))).forEach((o, i) => (batch[i]!.got = TCP_LETTER[o]));
  await run(mine);
  const deadline = Date.now() + 5000;
  for (let late = mine.filter((x) => x.want === 'a' && x.got !== 'a'); late.length > 0 && Date.now() < deadline; late = late.filter((x) => x.got !== 'a')) {
    await run(late);
  }
}

function table(cells: Cell[], kind: ProbeKind, label: string): string {
  const cell = (a: number, b: number) => {
    const x = cells.find((y) => y.kind === kind && y.a === a && y.b === b);
    if (!x) return '  .   ';
    return `${x.got}/${x.check}${x.want}${x.check === x.want && fits(kind, x.want, x.got) ? ' ' : '!'}`.padEnd(6);
  };
  return [`${label.padEnd(8)} ${W.map((w) => w.name.padEnd(6)).join(' ')}`, ...W.map((w, a) => `${w.name.padEnd(8)} ${W.map((_, b) => cell(a, b)).join(' ')}`)].join('\n');
}

/** Probes every ordered pair three ways; fails with the three matrices when any cell disagrees. */
async function checkMatrix(state: string, want: Expected): Promise<void> {
  const cells: Cell[] = PROBES.flatMap((p) => W.flatMap((_, a) => W.flatMap((_, b) => (a === b ? [] : [{ a, b, kind: p.kind, want: letterAt(want[p.kind], a, b), check: '?', got: '?' }]))));
  await mapBounded(cells, 8, async (x) => (x.check = await checkVerdict(W[x.a]!, W[x.b]!, PROBES.find((p) => p.kind === x.kind)!)));
  const icmp = cells.filter((x) => x.kind === 'icmp');
  await Promise.all([
    mapBounded(icmp, 16, async (x) => (x.got = await ping(W[x.a]!, W[x.b]!, x.want === 'a'))),
    mapBounded([...W.keys()], 6, (a) => connects(a, cells)),
  ]);
  const bad = cells.filter((x) => x.check !== x.want || !fits(x.kind, x.want, x.got));
  const detail = bad.map((x) => `${W[x.a]!.name} -> ${W[x.b]!.name} (${W[x.b]!.ip}) ${PROBES.find((p) => p.kind === x.kind)!.label}: matrix ${x.want}, check ${x.check}, kernel ${x.got}`);
  const legend = 'cell = kernel/check+matrix: a allow, d deny (tcp: timed out), r reject (tcp: refused), - ping failed, u unreachable, x other tenant, ! disagreement';
  const tables = PROBES.map((p) => table(cells, p.kind, p.label)).join('\n\n');
  assert.equal(bad.length, 0, `state "${state}": ${bad.length} cell(s) disagree\n${legend}\n${tables}\n${detail.join('\n')}`);
}

// The matrices, written from the rules by hand (rows and columns r1 r2 g1 g2 b1 b2).
const BLUE = ['x x x x . a', 'x x x x a .'];
/** No policy in force: each network talks inside itself only. */
const DEFAULT: Matrix = ['. a d d x x', 'a . d d x x', 'd d . a x x', 'd d a . x x', ...BLUE];
const ALL: Matrix = ['. a a a x x', 'a . a a x x', 'a a . a x x', 'a a a . x x', ...BLUE];
const same = (m: Matrix): Expected => ({ icmp: m, tcpP: m, tcpQ: m });

/** Attaches `policy` (or none) to red and green, then waits until every host enforces it. */
async function apply(policy: string | null): Promise<void> {
  for (const n of ['red', 'green']) await c.controller.updateNetwork('acme', n, { policies: policy ? [policy] : [] });
  if (policy) await realized(policy);
}

const realized = (name: string, tenant = 'acme') =>
  waitFor(async () => ((await c.controller.getPolicy(tenant, name)).realization.realized ? true : undefined), 8000, `policy ${name} realized`);

describe('policy: connectivity matrix, 6 workloads, 2 tenants, 3 networks, 2 hosts', { skip: kernelSkip('policy matrix', ['ip', 'nft', 'ping']) }, () => {
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createTenant('other');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
    await c.controller.createNetwork('acme', { name: 'green', subnet: '192.168.20.0/24' });
    await c.controller.createNetwork('other', { name: 'blue', subnet: '192.168.10.0/24' });
    for (const w of W) {
      const ep = await c.agent(w.host).attach({ tenant: w.tenant, network: w.network, netns: await c.underlay.workload(w.name), labels: w.labels, ...(w.ip ? { ip: w.ip } : {}) });
      w.id = ep.id;
      w.ip = ep.ip;
    }
    await Promise.all(W.map((w) => listeners.start(c.underlay.workloadNs(w.name), [P, Q])));
  });
  after(async () => {
    listeners.stop();
    await c.destroy();
  });

  it('no policy: each network talks inside itself only', async () => {
    await checkMatrix('no policy', same(DEFAULT));
  });

  it('pass-all on red and green (and on blue, in its own tenant): all of acme talks, never across tenants', async () => {
    await c.controller.createPolicy('acme', { name: 'pass-all', rules: ['allow any from any to any'] });
    await c.controller.createPolicy('other', { name: 'pass-all', rules: ['allow any from any to any'] });
    await c.controller.updateNetwork('other', 'blue', { policies: ['pass-all'] });
    await realized('pass-all', 'other');
    await apply('pass-all');
    await checkMatrix('pass-all', same(ALL));
  });

  it('allow icmp from net:red to net:green: green cannot start a ping back, tcp stays at the default', async () => {
    await c.controller.createPolicy('acme', { name: 'red-to-green', rules: ['allow icmp from net:red to net:green'] });
    await apply('red-to-green');
    const icmp = ['. a a a x x', 'a . a a x x', 'd d . a x x', 'd d a . x x', ...BLUE];
    await checkMatrix('allow icmp from net:red to net:green', { ...same(DEFAULT), icmp });
  });

  it('web may ping db, every other icmp denied (inside a network too)', async () => {
    await c.controller.createPolicy('acme', { name: 'tiers', rules: ['allow icmp from group:tier=web to group:tier=db priority 5', 'deny icmp from any to any'] });
    await apply('tiers');
    // r1 and g2 are web, r2 and g1 db.
    const icmp = ['. a a d x x', 'd . d d x x', 'd d . d x x', 'd a a . x x', ...BLUE];
    await checkMatrix('tiers', { ...same(DEFAULT), icmp });
  });

  it('after a PATCH (remove the tier rule, add green to red)', async () => {
    await c.controller.updatePolicy('acme', 'tiers', { removeRules: [1], addRules: ['allow icmp from net:green to net:red priority 5'] });
    await realized('tiers');
    const icmp = ['. d d d x x', 'd . d d x x', 'a a . d x x', 'a a d . x x', ...BLUE];
    await checkMatrix('tiers patched', { ...same(DEFAULT), icmp });
  });

  it(`port rules: ${P} but not ${Q}, a priority fence inside networks, reject (refused) beside deny (dropped)`, async () => {
    await c.controller.createPolicy('acme', {
      name: 'ports',
      rules: [
        `allow tcp from net:red to net:green port ${P}`,
        `reject tcp from net:green to net:red port ${Q}`,
        `deny tcp from group:tier=web to group:tier=db port ${P} priority 10`, // beats the allow above: r1 -> g1
        `allow tcp from net:red to net:red port ${Q}`,
        `reject tcp from group:tier=db to net:red port ${Q}`, // same priority as the allow above: reject wins for r2 -> r1
        'allow icmp from any to any',
      ],
    });
    await apply('ports');
    const tcpP = ['. d d a x x', 'a . a a x x', 'd d . a x x', 'd d d . x x', ...BLUE];
    const tcpQ = ['. a d d x x', 'r . d d x x', 'r r . a x x', 'r r a . x x', ...BLUE];
    await checkMatrix('ports', { icmp: ALL, tcpP, tcpQ });
  });

  it(`port rules after a PATCH: the fence removed, green -> red on ${P} now rejected`, async () => {
    await c.controller.updatePolicy('acme', 'ports', { removeRules: [3], addRules: [`reject tcp from net:green to net:red port ${P}`] });
    await realized('ports');
    const tcpP = ['. a a a x x', 'a . a a x x', 'r r . a x x', 'r r a . x x', ...BLUE];
    const tcpQ = ['. a d d x x', 'r . d d x x', 'r r . a x x', 'r r a . x x', ...BLUE];
    await checkMatrix('ports patched', { icmp: ALL, tcpP, tcpQ });
  });

  it('detached again: back to the default (waits for the detach before checking)', async () => {
    await apply(null);
    const [r1, , g1] = W as [Workload, Workload, Workload];
    await waitFor(async () => ((await c.underlay.ping(g1.name, r1.ip!)) ? undefined : true), 8000, 'green -> red to stop');
    await checkMatrix('detached', same(DEFAULT));
  });
});
