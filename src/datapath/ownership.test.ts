/**
 * Tenet removes only the namespaces it made (issue #5), on the fake kernel: a user's
 * namespace that merely carries Tenet's prefix survives every set(), next to the positive
 * control that Tenet's own stale namespace is removed by the same set().
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import type { Endpoint } from '../model/types.js';
import { Datapath } from './datapath.js';
import { buildPlan } from './plan.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { ep, host, net } from './testing/objects.js';
import { fakeOwnership } from './testing/ownership.js';
import { MarkerOwnership, type Identified } from './ownership.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-ownership-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const workload = join(dir, 'w1');
writeFileSync(workload, '');
const red = net('acme', 'red', '192.168.10.0/24', 4101);
const a1 = ep('a1', red, 'h1', '192.168.10.2', workload);

function kernel(): FakeKernel {
  const k = new FakeKernel();
  k.addWorkload(workload);
  return k;
}

function set(k: FakeKernel, endpoints: Endpoint[]) {
  const plan = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red], endpoints, hosts: [host('h1', '10.0.0.1')] });
  return new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }).set(plan);
}

/** What a user (or an older Tenet) does by hand, outside the datapath. */
function userNamespace(k: FakeKernel, name: string, links: string[]): void {
  assert.equal(k.exec(['ip', 'netns', 'add', name]).code, 0);
  for (const l of links) assert.equal(k.exec(['ip', '-n', name, 'link', 'add', l, 'type', 'dummy']).code, 0);
}

test("a user's namespace with Tenet's prefix survives, Tenet's own stale namespace goes", async () => {
  const k = kernel();
  assert.deepEqual([...(await set(k, [a1])).failedNamespaces], []);
  userNamespace(k, 'tn-mine', []);
  userNamespace(k, 'tn-work', ['eth9']);
  userNamespace(k, 'tn-mixed', ['tnbr7', 'eth9']);
  await set(k, []);
  assert.deepEqual(await k.listNamespaces(), ['tn-mine', 'tn-mixed', 'tn-work'], 'only tn-acme, which Tenet made, is gone');
});

test('an unmarked namespace holding only Tenet-named links is not adopted: content is no proof', async () => {
  const k = kernel();
  assert.deepEqual([...(await set(k, [a1])).failedNamespaces], []);
  userNamespace(k, 'tn-old', ['tnbr4999', 'tnvx4999']);
  await set(k, []);
  assert.deepEqual(await k.listNamespaces(), ['tn-old'], 'tn-acme (marked) is gone, tn-old stays');
});

test('a namespace re-made under the same name by someone else is not Tenet\'s any more', async () => {
  const k = kernel();
  await set(k, [a1]);
  assert.equal(k.exec(['ip', 'netns', 'del', 'tn-acme']).code, 0);
  userNamespace(k, 'tn-acme', ['eth9']);
  const before = k.dump(['tn-acme']);
  const result = await set(k, [a1]);
  assert.equal(result.failedNamespaces.get('tn-acme')?.code, 'DATAPATH_FAILED');
  assert.match(result.failedNamespaces.get('tn-acme')!.message, /exists but Tenet did not make it/);
  assert.equal(k.dump(['tn-acme']), before, 'nothing was changed inside it');
  await set(k, []);
  assert.deepEqual(await k.listNamespaces(), ['tn-acme'], 'and it is never deleted');
  assert.equal(k.exec(['ip', 'netns', 'del', 'tn-acme']).code, 0);
  assert.deepEqual([...(await set(k, [a1])).failedNamespaces], [], 'positive control: once it is gone Tenet makes its own again');
});

/**
 * Two agents share the marks' directory but not /run/netns (one runs in a private mount
 * namespace, as the Docker benchmark's does). The one that cannot see the other's namespace
 * must not delete its mark; the positive control: an agent in the writer's own mount
 * namespace, for which "not in /run/netns" does mean gone, prunes it.
 */
test("an agent never prunes the mark of a namespace it merely cannot see (another mount namespace)", async () => {
  const marks = mkdtempSync(join(dir, 'marks-'));
  const seen = new Map<string, Identified>([['tn-acme', { identity: { dev: 4, ino: 77 }, mark: '4:77:123' }]]);
  const mine = new MarkerOwnership(marks, async (ns) => seen.get(ns), async () => '9:1');
  const blind = (mnt: string) => new MarkerOwnership(marks, async () => undefined, async () => mnt);
  await mine.intend('tn-acme');
  await mine.mark('tn-acme');
  assert.deepEqual(await blind('9:2').ownedIdentities(), [], 'the other agent sees no namespace of ours');
  assert.equal(await mine.owns('tn-acme'), true, 'and our mark survived its look');
  seen.delete('tn-acme'); // removed behind Tenet's back, in our own mount namespace
  assert.deepEqual(await blind('9:1').ownedIdentities(), []);
  assert.equal(existsSync(join(marks, 'tn-acme')), false, 'positive control: in the writer\'s mount namespace the stale mark is pruned');
});

test('a mark without a writer (an older Tenet) is never pruned, and still counts while its namespace lives', async () => {
  const marks = mkdtempSync(join(dir, 'old-'));
  writeFileSync(join(marks, 'tn-old'), '4:78:5\n');
  const live = new MarkerOwnership(marks, async () => ({ identity: { dev: 4, ino: 78 }, mark: '4:78:5' }), async () => '9:1');
  assert.deepEqual(await live.ownedIdentities(), [{ dev: 4, ino: 78 }]);
  assert.equal(await live.owns('tn-old'), true);
  await new MarkerOwnership(marks, async () => undefined, async () => '9:1').ownedIdentities();
  assert.equal(existsSync(join(marks, 'tn-old')), true);
});
