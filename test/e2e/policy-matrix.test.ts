/**
 * Issue 7's connectivity matrix on the real kernel: 6 workloads over 2 tenants, 3 networks and
 * 2 hosts (blue, of another tenant, reuses red's subnet on purpose). For each policy state, every
 * ordered pair is pinged and compared with what `policy check` says: inside a tenant the kernel
 * must agree with the verdict; across tenants nothing ever connects. Denied pairs are pinged once;
 * the allowed pairs of the same state (and blue's own pairs, always open) are their positive controls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';

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

/** An expected allow gets a few seconds (the datapath may still be converging); a deny one ping. */
async function pings(from: Workload, to: Workload, expectAllow: boolean): Promise<boolean> {
  if (!expectAllow) return c.underlay.ping(from.name, to.ip!);
  return waitFor(async () => ((await c.underlay.ping(from.name, to.ip!)) ? true : undefined), 5000, 'ping').catch(() => false);
}

async function expected(from: Workload, to: Workload): Promise<{ allow: boolean; why: string }> {
  if (from.tenant !== to.tenant) return { allow: false, why: 'other tenant' };
  const r = await c.controller.checkPolicy(from.tenant, { from: from.id, to: to.ip!, proto: 'icmp' });
  return { allow: r.verdict === 'allow', why: r.verdict };
}

/** Pings every ordered pair; fails with the whole matrix when any cell disagrees with its verdict. */
async function checkMatrix(state: string): Promise<void> {
  const pairs = W.flatMap((a) => W.filter((b) => b !== a).map((b) => [a, b] as const));
  const cells = await Promise.all(
    pairs.map(async ([a, b]) => {
      const want = await expected(a, b);
      const got = await pings(a, b, want.allow);
      return { a, b, want, got };
    }),
  );
  const bad = cells.filter((x) => x.got !== x.want.allow);
  const cell = (a: Workload, b: Workload) => {
    const x = cells.find((y) => y.a === a && y.b === b);
    if (!x) return '  .  ';
    return `${x.got ? 'P' : '-'}/${x.want.why.slice(0, 1)}${x.got === x.want.allow ? ' ' : '!'}`.padEnd(5);
  };
  const table = [`from\\to ${W.map((w) => w.name.padEnd(5)).join(' ')}`, ...W.map((a) => `${a.name.padEnd(7)} ${W.map((b) => cell(a, b)).join(' ')}`)].join('\n');
  const detail = bad.map((x) => `${x.a.name} -> ${x.b.name} (${x.b.ip}): check ${x.want.why}, ping ${x.got ? 'ok' : 'failed'}`).join('\n');
  assert.equal(bad.length, 0, `state "${state}": ${bad.length} pair(s) disagree (P ping ok, - failed / verdict a,d,r,o=other tenant, ! mismatch)\n${table}\n${detail}`);
}

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
  });
  after(() => c.destroy());

  it('no policy: each network talks inside itself only', async () => {
    await checkMatrix('no policy');
  });

  it('pass-all on red and green (and on blue, in its own tenant): all of acme talks, never across tenants', async () => {
    await c.controller.createPolicy('acme', { name: 'pass-all', rules: ['allow any from any to any'] });
    await c.controller.createPolicy('other', { name: 'pass-all', rules: ['allow any from any to any'] });
    await c.controller.updateNetwork('other', 'blue', { policies: ['pass-all'] });
    await realized('pass-all', 'other');
    await apply('pass-all');
    await checkMatrix('pass-all');
  });

  it('allow icmp from net:red to net:green', async () => {
    await c.controller.createPolicy('acme', { name: 'red-to-green', rules: ['allow icmp from net:red to net:green'] });
    await apply('red-to-green');
    await checkMatrix('allow icmp from net:red to net:green');
  });

  it('web may ping db, every other icmp denied', async () => {
    await c.controller.createPolicy('acme', { name: 'tiers', rules: ['allow icmp from group:tier=web to group:tier=db priority 5', 'deny icmp from any to any'] });
    await apply('tiers');
    await checkMatrix('tiers');
  });

  it('after a PATCH (remove the tier rule, add green to red)', async () => {
    await c.controller.updatePolicy('acme', 'tiers', { removeRules: [1], addRules: ['allow icmp from net:green to net:red priority 5'] });
    await realized('tiers');
    await checkMatrix('tiers patched');
  });

  it('detached again: back to the default (waits for the detach before checking)', async () => {
    await apply(null);
    const [r1, , g1] = W as [Workload, Workload, Workload];
    await waitFor(async () => ((await c.underlay.ping(g1.name, r1.ip!)) ? undefined : true), 8000, 'green -> red to stop');
    await checkMatrix('detached');
  });
});
