/**
 * Allocation cost must not grow with the addresses in use (ADR 005): the store reads and the
 * rows they return for one automatic allocation are counted with 10 and with 1000 addresses
 * held, in a /16, and must be the same small numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import type { ListPage, Store } from '../store/types.js';
import { att, EP_URL, seed, testApp } from './testing.js';

class CountingStore extends MemoryStore {
  reads = 0;
  rows = 0;
  override async get(key: string) {
    this.reads++;
    const kv = await super.get(key);
    if (kv) this.rows++;
    return kv;
  }
  override async list(prefix: string, revision?: number, page?: ListPage) {
    this.reads++;
    const res = await super.list(prefix, revision, page);
    this.rows += res.items.length;
    return res;
  }
}

async function costAt(used: number): Promise<{ reads: number; rows: number }> {
  const store = new CountingStore();
  const t = await testApp({ store: store as Store });
  await seed(t, '10.0.0.0/16');
  for (let i = 0; i < used; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, used - i) }, (_, j) => t.call('POST', '/v1/tenants/acme/networks/web/addresses', {})));
  }
  store.reads = 0;
  store.rows = 0;
  const res = await t.call('POST', EP_URL, { id: 'measured', host: 'h1', attachment: att('/run/netns/m') });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await t.app.close();
  return { reads: store.reads, rows: store.rows };
}

test('ipam cost: one allocation reads the same with 10 and with 1000 addresses in use', async () => {
  const small = await costAt(10);
  const large = await costAt(1000);
  assert.deepEqual(large, small, `10 used: ${JSON.stringify(small)}, 1000 used: ${JSON.stringify(large)}`);
  assert.ok(large.rows <= 10, `rows read: ${large.rows}`);
});
