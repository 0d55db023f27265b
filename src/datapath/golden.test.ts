/**
 * Golden transcripts: the exact commands Tenet runs for a few scenarios, reads included, with
 * every batch and nft script, recorded on the fake kernel. They are documentation as much as
 * tests: read src/datapath/testdata/*.golden to learn what Tenet programs. A change to the
 * datapath that changes them is a visible diff; accept it with UPDATE_GOLDEN=1 and review.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../base/logger.js';
import type { Endpoint, Network } from '../model/types.js';
import { Datapath, type SetResult } from './datapath.js';
import { portOf } from './names.js';
import { buildPlan, type TenantPolicy } from './plan.js';
import { RecordingRunner, type CommandRunner } from './runner.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { fakeOwnership } from './testing/ownership.js';
import { ep, handedOff, host, net, withNetns } from './testing/objects.js';

const TESTDATA = new URL('../../../src/datapath/testdata/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'tenet-golden-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const red = net('acme', 'red', '192.168.10.0/24', 4101);
const green = net('acme', 'green', '192.168.20.0/24', 4102);
const blue = net('beta', 'blue', '192.168.10.0/24', 4201);
const hosts = [host('h1', '10.0.0.1'), host('h2', '10.0.0.2')];
const w = (name: string): string => join(dir, name);
const c1 = ep('c1', red, 'h1', '192.168.10.2', w('c1'));
const c2 = ep('c2', red, 'h2', '192.168.10.3', w('c2'));
const c3 = ep('c3', green, 'h2', '192.168.20.2', w('c3'));
const c4 = ep('c4', red, 'h1', '192.168.10.4', w('c4'));
const d1 = ep('d1', blue, 'h1', '192.168.10.2', w('d1'));
const o1 = handedOff(ep('o1', red, 'h1', '192.168.10.5', ''));

function kernel(): FakeKernel {
  const k = new FakeKernel();
  for (const name of ['c1', 'c2', 'c3', 'c4', 'd1']) {
    writeFileSync(w(name), '');
    k.addWorkload(w(name));
  }
  return k;
}

function set(runner: CommandRunner, k: FakeKernel, networks: Network[], endpoints: Endpoint[], policy?: TenantPolicy): Promise<SetResult> {
  const plan = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks, endpoints, hosts, policyFor: () => policy });
  return new Datapath(runner, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }).set(plan);
}

/** Runs set() on top of `k` through a recorder; returns the transcript, workload paths made stable. */
async function record(k: FakeKernel, networks: Network[], endpoints: Endpoint[], policy?: TenantPolicy): Promise<{ result: SetResult; text: string }> {
  const recorder = new RecordingRunner((argv, input) => k.exec(argv, input));
  const result = await set(recorder, k, networks, endpoints, policy);
  let text = recorder.transcript();
  // Port names hash the workload path; show the names the /run/netns paths would give.
  for (const e of [c1, c2, c3, c4, d1]) text = text.replaceAll(portOf(e)!, portOf(withNetns(e, `/run/netns/${e.id}`))!);
  // The ruleset hash covers those port names too (through the pinning set): show it masked.
  text = text.replace(/comment "tenet:[0-9a-f]{16}( policy\/bridges)?"/g, 'comment "tenet:<hash of both tables>$1"');
  return { result, text: text.replaceAll(`${dir}/`, '/run/netns/') + '\n' };
}

function golden(name: string, about: string[], transcript: string): void {
  const file = new URL(`${name}.golden`, TESTDATA);
  const text = [...about.map((l) => `# ${l}`), '# (Workload namespaces appear as /run/netns/NAME; the test uses temporary files.)', transcript].join('\n');
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(TESTDATA, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  let want: string;
  try {
    want = readFileSync(file, 'utf8');
  } catch {
    assert.fail(`missing ${file.pathname}: run the test once with UPDATE_GOLDEN=1 and review the file`);
  }
  assert.equal(text, want, `${name}.golden differs: if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff`);
}

describe('golden transcripts', () => {
  it('fresh host: one tenant, two networks, one remote host', async () => {
    const k = kernel();
    const { result, text } = await record(k, [red, green], [c1, c2, c3]);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-acme'], 0]);
    golden('fresh-host', [
      'Host h1 (VTEP 10.0.0.1), nothing programmed yet. Tenant acme: red 192.168.10.0/24 (VNI 4101)',
      'with c1 here and c2 on h2 (VTEP 10.0.0.2); green 192.168.20.0/24 (VNI 4102) with c3 on h2.',
      'The namespace does not exist, so nothing is read before it is made.',
    ], text);
  });

  it('adding one endpoint to an existing setup', async () => {
    const k = kernel();
    await set(k, k, [red, green], [c1, c2, c3]);
    const { result, text } = await record(k, [red, green], [c1, c2, c3, c4]);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-acme'], 0]);
    golden('add-endpoint', [
      'The fresh-host setup, then c4 (192.168.10.4, red) attached on h1: the namespace is read back',
      '(links, fdb, neighbours, nft table) and only the new port is made.',
    ], text);
  });

  it('a policy change is loaded in place: base chains and the bridge table untouched', async () => {
    const k = kernel();
    const v1: TenantPolicy = { nft: { sets: 'set pol_g0 {\n  type ipv4_addr\n  elements = { 192.168.10.2 }\n}\nmap pol_pairs {\n  type ipv4_addr . ipv4_addr : verdict\n  flags interval\n  elements = { 192.168.10.0/24 . 192.168.20.0/24 : goto pol_c0 }\n}', chains: 'chain pol_c0 {\n  ip saddr @pol_g0 tcp dport 80 accept\n  drop\n}', forwardRules: 'ct state new ip saddr . ip daddr vmap @pol_pairs', hash: 'v1' } };
    const v2: TenantPolicy = { nft: { ...v1.nft!, chains: 'chain pol_c0 {\n  ip saddr @pol_g0 tcp dport 443 accept\n  drop\n}', hash: 'v2' } };
    await set(k, k, [red, green], [c1, c2, c3], v1);
    const { result, text } = await record(k, [red, green], [c1, c2, c3], v2);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-acme'], 0]);
    golden('policy-in-place', [
      'The fresh-host setup with policy v1 loaded, then v1 becomes v2 (port 80 → 443). The namespace is',
      'read back; the kernel holds tables of the structure this code writes (the input rule says so),',
      "so ONE transaction empties the base chains, deletes v1's objects and declares v2's. No table is",
      'deleted, so no hook is re-registered; the bridge table is not touched. Then the flows v2 denies are cut.',
    ], text);
    const fresh = kernel();
    await set(fresh, fresh, [red, green], [c1, c2, c3], v2);
    assert.equal(k.dump(['tn-acme']), fresh.dump(['tn-acme']), 'updated in place = loaded whole');
  });

  it('removing the last endpoint of a tenant', async () => {
    const k = kernel();
    await set(k, k, [red, blue], [c1, c2, d1]);
    const { result, text } = await record(k, [red, blue], [c1, c2]);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-beta'], 0]);
    golden('remove-last-endpoint', [
      'h1 has acme (c1 on red, c2 on h2) and beta (d1 on blue, same subnet as red); d1 leaves the',
      "plan. In a full set() acme is read and found current (no command), and beta's namespace goes",
      "with its bridge, VXLAN device and veth pair. d1's eth0 goes with the pair, but asynchronously:",
      'the kernel tears a namespace down after `ip netns del` has returned (the fake does it at once).',
    ], text);
  });

  it('a handoff port: the pair is born in the agent namespace, its tenant side goes to the bridge', async () => {
    const k = kernel();
    await set(k, k, [red], [c1, c2]);
    const { result, text } = await record(k, [red], [c1, c2, o1]);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-acme'], 0]);
    golden('handoff-port', [
      'c1 on red here, c2 on h2; then o1 (192.168.10.5, red) is attached with handoff: the pair is made',
      "in the agent's namespace with o1's MAC and the MTU, its tenant side sent to tn-acme and put on the",
      'bridge (pinned like any port); the host side stays DOWN for a runtime to move. Nothing is entered.',
    ], text);
  });

  it('a handoff moved by its runtime is left alone; when its sandbox is destroyed the pair is made again', async () => {
    const k = kernel();
    await set(k, k, [red], [c1, c2, o1]);
    const hostIfname = o1.attachment?.kind === 'handoff' ? o1.attachment.hostIfname : '';
    await k.run(['ip', '-n', k.hostNs, 'link', 'set', hostIfname, 'netns', w('c4')]); // what Docker does at Join
    const ran = k.mutations.length;
    await set(k, k, [red], [c1, c2, o1]);
    assert.deepEqual(k.mutations.slice(ran), [], 'the moved interface is not made again while its tenant side exists');
    await k.run(['nsenter', `--net=${w('c4')}`, 'ip', '-batch', '-'], { input: `link del ${hostIfname}\n` }); // the sandbox goes, with the pair
    const { result, text } = await record(k, [red], [c1, c2, o1]);
    assert.deepEqual([result.changed, result.failedPorts.size], [['tn-acme'], 0]);
    golden('handoff-recreated', [
      "o1's host side was moved into a sandbox, which was then destroyed (and the pair with it): the full",
      'reconcile finds the tenant side missing and makes the pair again, for a restarted runtime to take.',
    ], text);
  });
});
