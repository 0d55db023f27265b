/**
 * The record of reclaimed endpoints (reclaimed.ts): written in the delete's txn with the
 * agent's reason, listed newest first and filtered, refused when the reason is bad (nothing
 * deleted), never written by a plain delete, and bounded (count and age).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../model/keys.js';
import { pruneReclaimed } from './reclaimed.js';
import { internalKeys } from './repo.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

test('reclaimed: the delete with a reason records what was held and why; a plain delete records nothing', async () => {
  const t = await testApp();
  await seed(t);
  const a = (await t.call('POST', EP_URL, { id: 'ra', host: 'h1', attachment: att('/run/netns/ra'), labels: { 'tenet.cni.container': 'abc' } })).body;
  await t.call('POST', EP_URL, { id: 'rb', host: 'h1', attachment: att('/run/netns/rb') });
  await t.call('POST', EP_URL, { id: 'rc', host: 'h1', attachment: att('/run/netns/rc') });
  assert.equal((await t.call('DELETE', '/v1/endpoints/rc')).status, 204);
  assert.equal((await t.call('DELETE', `/v1/endpoints/ra?reclaimed=${encodeURIComponent('its namespace /run/netns/ra is gone')}`)).status, 204);
  assert.equal((await t.call('DELETE', '/v1/endpoints/rb?reclaimed=second')).status, 204);
  const list = (await t.call('GET', '/v1/reclaimed')).body as { endpoint: string; why: string; ip: string; labels: Record<string, string>; attachment: { netns: string } }[];
  assert.deepEqual(list.map((r) => r.endpoint), ['rb', 'ra'], 'newest first; the plain delete (rc) is no reclaim');
  assert.deepEqual([list[1]!.why, list[1]!.ip, list[1]!.labels['tenet.cni.container'], list[1]!.attachment.netns], ['its namespace /run/netns/ra is gone', a.ip, 'abc', '/run/netns/ra']);
  assert.equal((await t.store.get(keys.endpoint('ra'))), undefined, 'the endpoint went with the record');
  assert.deepEqual((await t.call('GET', '/v1/reclaimed?tenant=nosuch')).body, []);
  assert.equal((await t.call('GET', '/v1/reclaimed?host=h1&tenant=acme')).body.length, 2);
  await t.app.close();
});

test('reclaimed: a bad reason is refused and deletes nothing', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'rd', host: 'h1', attachment: att('/run/netns/rd') });
  assertError(await t.call('DELETE', `/v1/endpoints/rd?reclaimed=${encodeURIComponent('two\nlines')}`), 'BAD_REQUEST');
  assert.ok(await t.store.get(keys.endpoint('rd')), 'still there');
  assert.deepEqual((await t.call('GET', '/v1/reclaimed')).body, []);
  await t.app.close();
});

test('reclaimed: bounded by count and by age', async () => {
  const t = await testApp();
  const now = Date.now();
  const rec = (endpoint: string) => JSON.stringify({ endpoint, tenant: 'acme', network: 'web', ip: '10.0.0.9', mac: '0a:58:0a:00:00:09', labels: {}, why: 'gone', reclaimedAt: new Date(now).toISOString() });
  for (let i = 0; i < 5; i++) await t.store.create(internalKeys.reclaimed(now - 1000 + i, `e${i}`), rec(`e${i}`));
  await t.store.create(internalKeys.reclaimed(now - 25 * 3600_000, 'old'), rec('old'));
  assert.deepEqual((await t.call('GET', '/v1/reclaimed')).body.map((r: { endpoint: string }) => r.endpoint), ['e4', 'e3', 'e2', 'e1', 'e0'], 'an expired record is never shown');
  assert.equal(await pruneReclaimed(t.store, now, 3), 3, 'the old one and the two oldest beyond 3');
  assert.deepEqual((await t.store.list(internalKeys.reclaimeds())).items.map((kv) => JSON.parse(kv.value).endpoint), ['e2', 'e3', 'e4']);
  await t.app.close();
});
