import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import type { ListPage } from '../store/types.js';
import { EP_URL, att, seed, testApp } from './testing.js';

test('health: ok, role, revision and version', async () => {
  const t = await testApp();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  assert.deepEqual((await t.call('GET', '/v1/health')).body, { ok: true, role: 'controller', revision: 1, version: 'test' });
  await t.app.close();
});

test('snapshot: every object, at the store revision', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att('/n/a') });
  assert.equal((await t.call('POST', '/v1/tenants/acme/policies', { name: 'p', rules: ['allow any from any to any'] })).status, 201);
  const snap = (await t.call('GET', '/v1/snapshot')).body;
  assert.equal(snap.revision, await t.store.revision());
  // One array per kind of the registry, keyed by kind name; allocation keys never show.
  assert.deepEqual(Object.keys(snap.objects), ['tenant', 'network', 'endpoint', 'host', 'policy']);
  assert.deepEqual(Object.values(snap.objects).map((l) => (l as unknown[]).length), [1, 1, 1, 1, 1]);
  assert.equal(snap.objects.endpoint[0].id, 'a');
  await t.app.close();
});

/** Writes land between the snapshot's first list and the others: they must not show. */
class SneakyStore extends MemoryStore {
  sneak?: () => Promise<void>;
  override async list(prefix: string, revision?: number, page?: ListPage) {
    const res = await super.list(prefix, revision, page);
    const sneak = this.sneak;
    this.sneak = undefined;
    await sneak?.();
    return res;
  }
}

test('snapshot: all lists are read at one revision even while writes go on', async () => {
  const store = new SneakyStore();
  const t = await testApp({ store });
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att('/n/a') });
  const before = await store.revision();
  store.sneak = async () => {
    await t.call('POST', EP_URL, { id: 'b', host: 'h1', attachment: att('/n/b') });
    await t.call('DELETE', '/v1/hosts/h1');
    await t.call('POST', '/v1/tenants/acme/networks', { name: 'db', subnet: '10.9.0.0/24' });
  };
  const snap = (await t.call('GET', '/v1/snapshot')).body;
  assert.ok((await store.revision()) > before, 'the writes happened');
  assert.equal(snap.revision, before);
  assert.deepEqual(snap.objects.endpoint.map((e: { id: string }) => e.id), ['a']);
  assert.deepEqual(snap.objects.host.map((h: { name: string }) => h.name), ['h1']);
  assert.deepEqual(snap.objects.network.map((n: { name: string }) => n.name), ['web']);
  await t.app.close();
});
