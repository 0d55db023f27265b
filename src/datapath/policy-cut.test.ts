/**
 * When the conntrack table is read after a policy change (datapath.ts, docs/adr/026 addendum):
 * always, unless the new policy says it only loosens (TenantPolicy.loosens) exactly the one
 * the kernel holds, known from the plan this Datapath last converged to. A read-back state,
 * another hash or a cut that failed last time all read it. On the fake kernel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { Datapath } from './datapath.js';
import { buildPlan, type TenantPolicy } from './plan.js';
import { RecordingRunner } from './runner.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { fakeOwnership } from './testing/ownership.js';
import { ep, host, net } from './testing/objects.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-cut-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const red = net('acme', 'red', '192.168.10.0/24', 4101);
const green = net('acme', 'green', '192.168.20.0/24', 4102);
const c1 = ep('c1', red, 'h1', '192.168.10.2', join(dir, 'c1'));
const c3 = ep('c3', green, 'h1', '192.168.20.2', join(dir, 'c3'));

/** A policy whose chain allows `port`; `loosens`: the hash it claims to follow and only widen. */
const policy = (port: number, loosens?: string): TenantPolicy => ({
  nft: { sets: '', chains: `chain pol_c0 {\n  tcp dport ${port} accept\n  drop\n}`, forwardRules: 'ct state new ip daddr 192.168.20.0/24 goto pol_c0', hash: `p${port}` },
  denies: (f) => f.dport !== port,
  ...(loosens ? { loosens } : {}),
});

function setup() {
  const k = new FakeKernel();
  for (const name of ['c1', 'c3']) {
    writeFileSync(join(dir, name), '');
    k.addWorkload(join(dir, name));
  }
  const recorder = new RecordingRunner((argv, input) => k.exec(argv, input));
  const datapath = () => new Datapath(recorder, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) });
  const plan = (p: TenantPolicy) => buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red, green], endpoints: [c1, c3], hosts: [host('h1', '10.0.0.1')], policyFor: () => p });
  /** Converges to `p` (targeted: the known state when there is one); whether conntrack was read. */
  const listed = async (d: Datapath, p: TenantPolicy) => {
    const from = recorder.calls.length;
    const result = await d.set(plan(p), new Set(['acme']));
    assert.equal(result.failedNamespaces.size, 0);
    return recorder.calls.slice(from).some((c) => c.argv.includes('conntrack'));
  };
  return { datapath, listed };
}

it('a change that only loosens the loaded policy reads no conntrack; any other change does', async () => {
  const { datapath, listed } = setup();
  const d = datapath();
  await listed(d, policy(80));
  assert.equal(await listed(d, policy(443)), true, 'a change that does not claim to loosen');
  assert.equal(await listed(d, policy(8080, 'p443')), false, 'it loosens exactly what is loaded');
  assert.equal(await listed(d, policy(22, 'p80')), true, 'it loosens a policy that is not the one loaded');
});

it('a read-back state does not trust the claim: it reads conntrack', async () => {
  const { datapath, listed } = setup();
  await listed(datapath(), policy(80));
  assert.equal(await listed(datapath(), policy(443, 'p80')), true, 'a new Datapath knows nothing it loaded');
});
