/**
 * The fast path (fastpath.ts) must give exactly the kernel a full reconcile gives, must skip
 * the read-back only after this Datapath's own clean converge of the tenant, and must read
 * the kernel on a full set() and after a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import type { Endpoint } from '../model/types.js';
import { Datapath } from './datapath.js';
import { buildPlan } from './plan.js';
import { RecordingRunner } from './runner.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { fakeOwnership } from './testing/ownership.js';
import { ep, handedOff, host, net } from './testing/objects.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-fastpath-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const red = net('acme', 'red', '192.168.10.0/24', 4101);
const hosts = [host('h1', '10.0.0.1'), host('h2', '10.0.0.2')];
const w = (name: string) => {
  writeFileSync(join(dir, name), '');
  return join(dir, name);
};
const a1 = ep('a1', red, 'h1', '192.168.10.2', w('a1'));
const a2 = ep('a2', red, 'h1', '192.168.10.3', w('a2'));
const a3 = ep('a3', red, 'h1', '192.168.10.4', w('a3'));
const r1 = ep('r1', red, 'h2', '192.168.10.9', w('r1'));
const ACME = new Set(['acme']);

/** A Datapath on a fake kernel; pass the kernel of another rig to play a restarted agent. */
function rig(shared?: FakeKernel) {
  const kernel = shared ?? new FakeKernel();
  if (!shared) for (const name of ['a1', 'a2', 'a3', 'r1']) kernel.addWorkload(join(dir, name));
  const recorder = new RecordingRunner((argv, input) => kernel.exec(argv, input));
  const dp = new Datapath(recorder, silentLogger, { listNamespaces: () => kernel.listNamespaces(), ownership: fakeOwnership(kernel) });
  const set = (endpoints: Endpoint[], only?: Set<string>) => {
    recorder.calls.length = 0;
    const plan = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red], endpoints, hosts });
    return dp.set(plan, only);
  };
  const readBack = () => recorder.calls.some((c) => c.argv.includes('show'));
  return { kernel, set, readBack, dp };
}

async function freshDump(endpoints: Endpoint[]): Promise<string> {
  const r = rig();
  await r.set(endpoints);
  return r.kernel.dump();
}

test('fast path: targeted changes skip the read-back and equal a full reconcile', async () => {
  const r = rig();
  await r.set([a1, r1]);
  for (const endpoints of [[a1, a2, r1], [a1, a2, a3, r1], [a2, a3, r1], [a3], [a3, r1], [a1, a3, r1]]) {
    await r.set(endpoints, ACME);
    assert.equal(r.readBack(), false, 'no kernel read after our own clean converge');
    assert.equal(r.kernel.dump(), await freshDump(endpoints));
  }
  const result = await r.set([a1, a3, r1], ACME);
  assert.deepEqual([result.changed, r.readBack()], [[], false], 'an unchanged plan costs nothing');
});

test('fast path: the first call, a full set() and a call after a failure read the kernel', async () => {
  const before = rig();
  await before.set([a1]);
  const r = rig(before.kernel); // a restarted agent: the kernel has state, this Datapath knows none
  await r.set([a1], ACME);
  assert.equal(r.readBack(), true, 'nothing is known before our first converge');
  await r.set([a1, r1]);
  assert.equal(r.readBack(), true, 'a full set() always reads the kernel');
  r.kernel.failNext(`nsenter --net=${join(dir, 'a2')}`, 'nsenter: cannot open: No such file or directory');
  assert.equal((await r.set([a1, a2, r1], ACME)).failedPorts.size, 1);
  await r.set([a1, a2, r1], ACME);
  assert.equal(r.readBack(), true, 'after a failure the next call reads the kernel');
  assert.equal(r.kernel.dump(), await freshDump([a1, a2, r1]));
});

/**
 * Docker's Join (a handoff attach) marks the tenant for a read-back only when the converged
 * plan already holds that endpoint's port: its pair may have vanished with an old sandbox.
 * A fresh Join keeps the fast path; both give the kernel a full reconcile gives.
 */
test('fast path: a fresh handoff attach reads nothing; a handoff attach again reads the kernel back', async () => {
  const o1 = handedOff(ep('o1', red, 'h1', '192.168.10.5', ''));
  const tnv = `tnv${o1.attachment?.kind === 'handoff' ? o1.attachment.hostIfname.slice(3) : ''}`;
  const r = rig();
  await r.set([a1, r1]);
  r.dp.readBackNext('tn-acme', 'o1');
  await r.set([a1, o1, r1], ACME);
  assert.equal(r.readBack(), false, 'a fresh Join: nothing of o1 can be in the kernel, no read-back');
  assert.equal(r.kernel.dump(), await freshDump([a1, o1, r1]));
  // The runtime's sandbox was destroyed with the pair in it; the endpoint stays attached and Joins again.
  assert.equal(r.kernel.exec(['ip', '-n', 'tn-acme', 'link', 'del', tnv]).code, 0);
  r.dp.readBackNext('tn-acme', 'o1');
  await r.set([a1, o1, r1], ACME);
  assert.equal(r.readBack(), true, 'o1 was in the converged plan: the kernel is read back');
  assert.equal(r.kernel.dump(), await freshDump([a1, o1, r1]), 'and its pair is made again');
});

/**
 * A detach (Docker's Leave) on the fast path: the port's link goes and its pinning element
 * goes, in one round of two processes started together, not one after the other.
 */
test('fast path: a detach deletes the link and the pinning element in one round', async () => {
  const kernel = new FakeKernel();
  for (const name of ['a1', 'a2', 'a3', 'r1']) kernel.addWorkload(join(dir, name));
  const events: string[] = [];
  const runner = {
    run: async (argv: string[], opts: { input?: string; allowFail?: boolean } = {}) => {
      const what = argv.includes('nft') ? 'nft' : argv[0]!;
      events.push(`start ${what}`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${what}`);
      return new RecordingRunner((a, i) => kernel.exec(a, i)).run(argv, opts);
    },
  };
  const dp = new Datapath(runner, silentLogger, { listNamespaces: () => kernel.listNamespaces(), ownership: fakeOwnership(kernel) });
  const plan = (endpoints: Endpoint[]) => buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red], endpoints, hosts });
  await dp.set(plan([a1, a2]), ACME);
  events.length = 0;
  await dp.set(plan([a2]), ACME);
  assert.deepEqual(events, ['start ip', 'start nft', 'end ip', 'end nft']);
  assert.equal(kernel.dump(), await freshDump([a2]), 'and the kernel is what a full reconcile makes');
});

/**
 * An attach's pinning element loads while its port is made (datapath.ts runCleanup). When
 * the kernel refuses it, the tenant is reported failed (the agent rolls the attach back,
 * ADR 008) and the next call reads the kernel back instead of trusting the plan.
 */
test('fast path: a refused element of an attach fails the tenant; the next call reads the kernel back', async () => {
  const r = rig();
  await r.set([a1, r1]);
  r.kernel.failNext('nsenter --net=/run/netns/tn-acme nft', 'Error: Could not process rule: No such file or directory');
  const failed = await r.set([a1, a2, r1], ACME);
  assert.ok(failed.failedNamespaces.has('tn-acme'), 'the refusal is reported');
  const ok = await r.set([a1, a2, r1], ACME); // positive control: the same plan converges next time
  assert.deepEqual([ok.failedNamespaces.size, ok.failedPorts.size, r.readBack()], [0, 0, true]);
  assert.equal(r.kernel.dump(), await freshDump([a1, a2, r1]));
});

/**
 * A port is made in one process, on its bridge by ifindex (port-create.ts, bridge-index.ts).
 * A bridge made again behind the fast path's back has a new index: the kernel refuses the
 * whole `link add` (no device on either side), the port fails alone, and the next call reads
 * the tenant back, learns the new index and makes it.
 */
test('fast path: a bridge made again behind its back refuses the port whole; the next call reads back and makes it', async () => {
  const r = rig();
  await r.set([a1, r1]);
  for (const argv of [['ip', '-n', 'tn-acme', 'link', 'del', 'tnbr4101'], ['ip', '-n', 'tn-acme', 'link', 'add', 'tnbr4101', 'type', 'bridge']]) assert.equal(r.kernel.exec(argv).code, 0);
  const failed = await r.set([a1, a2, r1], ACME);
  assert.deepEqual([...failed.failedPorts.keys()], ['a2'], 'the stale index failed a2 alone');
  assert.match(failed.failedPorts.get('a2')!.message, /Invalid argument/);
  assert.equal(r.readBack(), false, 'the fast path trusted what it had converged');
  assert.doesNotMatch(r.kernel.dump([join(dir, 'a2')]), /link eth0/, 'nothing was left in a2');
  assert.equal(r.kernel.dump(['tn-acme']).match(/link tnv[0-9a-f]{10} veth/g)?.length, 1, "nor in the tenant namespace: a1's port only");
  await r.set([a1, a2, r1], ACME);
  assert.equal(r.readBack(), true, 'after the failure the tenant is read back');
  assert.equal(r.kernel.dump(), await freshDump([a1, a2, r1]), 'and a2 is made on the bridge as it is now');
});
