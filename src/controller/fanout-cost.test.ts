/**
 * What a change costs (issue 6): a host not concerned by a change receives nothing, a
 * status report reaches its own host only, and each event is encoded once whatever the
 * number of watchers. Counts, never timings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { kindDecl } from '../model/kinds.js';
import type { AnyObject, ObjectKind } from '../model/types.js';
import { MemoryStore } from '../store/memory.js';
import { Fanout } from './fanout.js';
import { encodings } from './watch-lines.js';

const settle = () => new Promise((r) => setImmediate(r));

async function put(store: MemoryStore, kind: ObjectKind, o: object): Promise<void> {
  await store.txn([], [{ type: 'put', key: kindDecl(kind).key(o as AnyObject), value: JSON.stringify(o) }]);
}

const ep = (id: string, tenant: string, host: string, status = 'up') => ({ id, tenant, host, network: 'red', mac: `m-${id}`, ip: `10.0.0.${id.length}`, status });

async function started(): Promise<{ store: MemoryStore; fanout: Fanout; received: (host: string) => string[] }> {
  const store = new MemoryStore();
  for (const t of ['busy', 'quiet']) await put(store, 'tenant', { id: t, name: t, createdAt: '' });
  for (const h of ['h1', 'h2', 'h3']) await put(store, 'host', { name: h, vtep: `192.0.2.${h[1]}`, underlay: 'default' });
  await put(store, 'endpoint', ep('b1', 'busy', 'h1'));
  await put(store, 'endpoint', ep('b2', 'busy', 'h2'));
  await put(store, 'endpoint', ep('q3', 'quiet', 'h3'));
  const fanout = new Fanout(store, silentLogger);
  fanout.start();
  await fanout.ready();
  const got = new Map<string, string[]>();
  const received = (host: string) => {
    if (!got.has(host)) {
      got.set(host, []);
      fanout.subscribe(host, { write: (lines) => got.get(host)!.push(...lines), cut: () => assert.fail('cut') });
    }
    return got.get(host)!;
  };
  return { store, fanout, received };
}

test('cost: an uninvolved host receives nothing while 1,000 changes happen in other tenants; involved hosts receive them', async () => {
  const { store, fanout, received } = await started();
  const [h1, h2, h3] = [received('h1'), received('h2'), received('h3')];
  for (let i = 0; i < 1000; i++) {
    await put(store, 'endpoint', { ...ep(`x${i % 50}`, 'busy', i % 2 ? 'h1' : 'h2'), ip: `10.1.${i >> 8}.${i & 255}` });
    if (i % 100 === 0) await settle();
  }
  await settle();
  assert.equal(h3.length, 0, 'h3 (tenant quiet only) received nothing');
  assert.equal(h1.length, 1000, 'positive control: h1 (tenant busy) received every change');
  assert.equal(h2.length, 1000, 'positive control: h2 too');
  fanout.stop();
});

test("cost: status reports and heartbeats reach their own host only; realized changes reach the tenant's hosts", async () => {
  const { store, fanout, received } = await started();
  const [h1, h2] = [received('h1'), received('h2')];
  for (let i = 0; i < 100; i++) await put(store, 'endpoint', ep('b1', 'busy', 'h1', `s${i}`));
  for (let i = 0; i < 100; i++) await put(store, 'host', { name: 'h1', vtep: '192.0.2.1', underlay: 'default', lastSeen: `${i}` });
  await settle();
  assert.equal(h2.length, 0, 'h2 received no report and no heartbeat of h1');
  assert.equal(h1.length, 200, 'h1 received its own reports and heartbeats');
  await put(store, 'endpoint', { ...ep('b1', 'busy', 'h1'), ip: '10.0.0.99' }); // a realized change
  await put(store, 'host', { name: 'h1', vtep: '192.0.2.91', underlay: 'default' }); // a new VTEP
  await settle();
  assert.equal(h2.length, 2, 'positive control: realized changes reach h2');
  fanout.stop();
});

test('encode once: one line per event whatever the number of watchers, and the same string to each', async () => {
  const { store, fanout } = await started();
  const got: string[][] = [];
  for (let i = 0; i < 20; i++) {
    const lines: string[] = [];
    got.push(lines);
    fanout.subscribe(['h1', 'h2'][i % 2]!, { write: (l) => lines.push(...l), cut: () => assert.fail('cut') });
  }
  const before = encodings.count;
  for (let i = 0; i < 10; i++) await put(store, 'endpoint', { ...ep('b1', 'busy', 'h1'), ip: `10.0.0.${100 + i}` });
  await settle();
  assert.equal(encodings.count - before, 10, 'ten events, ten lines built, for twenty watchers');
  assert.ok(got.every((l) => l.length === 10));
  for (let i = 0; i < 10; i++) assert.ok(got.every((l) => l[i] === got[0]![i]), 'every watcher got the same string');
  fanout.stop();
});
