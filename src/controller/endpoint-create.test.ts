/**
 * Concurrent endpoint creates racing for one address (issue 11, failure test 1: on etcd with
 * two replicas ~40 of 500 attaches failed MAC_IN_USE). A create picks a free address, then
 * reads the derived MAC's key; if a concurrent create took that address in between, the MAC
 * key is there too. That is an address clash: the create must move on to another address,
 * as when its txn's address compare fails, not refuse with MAC_IN_USE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../base/async.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

/**
 * A MemoryStore whose reads of MAC keys wait a moment while `slow` is set: every create
 * picks its address first, the first one commits, and the others then find its MAC key.
 */
function racingStore(): { store: Store; setSlow(on: boolean): void } {
  const inner = new MemoryStore();
  let slow = false;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'get') return Reflect.get(target, prop, receiver);
      return async (key: string) => {
        if (slow && key.includes('/mac/')) await sleep(20);
        return target.get(key);
      };
    },
  });
  return { store, setSlow: (on) => (slow = on) };
}

test('endpoint create: concurrent creates that pick the same address all succeed, with distinct addresses and MACs', async () => {
  const { store, setSlow } = racingStore();
  const t = await testApp({ store });
  await seed(t, '10.0.0.0/24');
  setSlow(true);
  const attach = (i: number) => t.call('POST', EP_URL, { id: `c${i}`, host: 'h1', attachment: att(`/run/netns/c${i}`) });
  const detached = (i: number) => t.call('POST', EP_URL, { id: `d${i}` });
  const results = await Promise.all([...Array.from({ length: 15 }, (_, i) => attach(i)), ...Array.from({ length: 15 }, (_, i) => detached(i))]);
  setSlow(false);
  assert.deepEqual(results.filter((r) => r.status !== 201).map((r) => r.body), []);
  assert.equal(new Set(results.map((r) => r.body.ip)).size, 30, 'no address handed out twice');
  assert.equal(new Set(results.map((r) => r.body.mac)).size, 30, 'no MAC handed out twice');
  const stored = (await t.call('GET', '/v1/endpoints')).body as { ip: string }[];
  assert.equal(stored.length, 30);
  await t.app.close();
});

test('endpoint create: a MAC given by the caller and held by another endpoint is still MAC_IN_USE (control)', async () => {
  const { store, setSlow } = racingStore();
  const t = await testApp({ store });
  await seed(t, '10.0.0.0/24');
  assert.equal((await t.call('POST', EP_URL, { id: 'a', mac: '02:00:00:00:00:05' })).status, 201);
  setSlow(true);
  const [b, c] = await Promise.all([t.call('POST', EP_URL, { id: 'b', mac: '02:00:00:00:00:05' }), t.call('POST', EP_URL, { id: 'c', mac: '02:00:00:00:00:06' })]);
  setSlow(false);
  assert.match(assertError(b, 'MAC_IN_USE'), /endpoint a/);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  await t.app.close();
});
