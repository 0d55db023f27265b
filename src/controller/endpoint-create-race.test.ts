/**
 * Two controller replicas create endpoints on one store at once (issue 11): an address picked
 * by one can be taken by the other before the first checks the MAC derived from it. Found by
 * bench/cluster-attach.ts (attaches refused with MAC_IN_USE on etcd with 2 replicas). The
 * create must pick another address, not refuse a MAC the caller never gave.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { assertError, EP_URL, seed, testApp, type TestApp } from './testing.js';

/** The store as replica A sees it: before A's first read of a MAC key, replica B creates endpoint `b`. */
function racingStore(store: Store, other: () => TestApp): Store {
  let armed = true;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'get' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (key: string, ...rest: unknown[]) => {
        if (armed && key.includes('/alloc/mac/')) {
          armed = false;
          assert.equal((await other().call('POST', EP_URL, { id: 'b' })).status, 201, 'replica B created b meanwhile');
        }
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

test('endpoint create: an address taken by another replica between pick and MAC check is picked again', async () => {
  const store = new MemoryStore();
  const b = await testApp({ store });
  await seed(b);
  const a = await testApp({ store: racingStore(store, () => b) });
  try {
    const made = await a.call('POST', EP_URL, { id: 'a' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const ipB = (await b.call('GET', '/v1/endpoints/b')).body.ip;
    assert.equal(ipB, '10.0.0.2', 'B took the address A had picked first');
    assert.notEqual(made.body.ip, ipB, 'A picked another address (a retry picks at random: ipam.ts)');
    assert.match(made.body.ip, /^10\.0\.0\.\d+$/);
    // Control: a MAC the caller gives that another endpoint holds is still refused.
    assertError(await a.call('POST', EP_URL, { id: 'c', mac: made.body.mac }), 'MAC_IN_USE');
  } finally {
    await a.app.close();
    await b.app.close();
  }
});
