/**
 * Allocation cost must not grow with the addresses in use (ADR 005): the store reads and the
 * rows they return for one automatic allocation are counted with 10 and with 1000 addresses
 * held, in a /16, and must be the same small numbers. The same holds for every per-endpoint
 * request an agent makes (issue 6): create and attach, attach of a detached endpoint, status
 * report, detach, with 10 and with 10,000 endpoints in the network.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIp, parseIp } from '../base/cidr.js';
import { keys } from '../model/keys.js';
import { endpointMac } from '../model/mac.js';
import type { Endpoint } from '../model/types.js';
import { reservation } from './ipam.js';
import { MemoryStore } from '../store/memory.js';
import type { ListPage, Op, Store } from '../store/types.js';
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

type Cost = { reads: number; rows: number };

/** Reads and rows of each per-endpoint request, with `existing` endpoints in the network. */
async function requestCosts(existing: number): Promise<Record<string, Cost>> {
  const store = new CountingStore();
  const t = await testApp({ store: store as Store });
  await seed(t, '10.0.0.0/16');
  // The first endpoint through the API; the others written as its copies in one txn (the
  // memory store's list sorts every key, so 10,000 creates through the API would take minutes);
  // the network's cursor after the last of them, where creates one by one would have left it.
  const model = (await t.call('POST', EP_URL, { id: 'e0', host: 'h1', attachment: att('/run/netns/e0') })).body as Endpoint;
  const ops: Op[] = [];
  for (let n = 1; n < existing; n++) {
    const ip = parseIp(model.ip)! + n;
    const e: Endpoint = { ...model, id: `e${n}`, ip: formatIp(ip), mac: endpointMac(formatIp(ip)), attachment: att(`/run/netns/e${n}`) };
    ops.push({ type: 'put', key: keys.endpoint(e.id), value: JSON.stringify(e) });
    ops.push({ type: 'put', key: keys.addr(e.networkId, ip), value: JSON.stringify(reservation(ip, { kind: 'endpoint', id: e.id }, e.createdAt)) });
    ops.push({ type: 'put', key: keys.mac(e.networkId, e.mac), value: e.id });
  }
  ops.push({ type: 'put', key: keys.addrCursor(model.networkId), value: (parseIp(model.ip)! + existing - 1).toString(16) });
  assert.equal((await store.txn([], ops)).ok, true);
  const costs: Record<string, Cost> = {};
  const measure = async (what: string, method: string, url: string, body: unknown, status: number) => {
    store.reads = 0;
    store.rows = 0;
    const res = await t.call(method, url, body);
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    costs[what] = { reads: store.reads, rows: store.rows };
  };
  await measure('create attached', 'POST', EP_URL, { id: 'm1', host: 'h1', attachment: att('/run/netns/m1') }, 201);
  await measure('status', 'PATCH', '/v1/endpoints/m1/status', { status: 'up', mtu: 1450 }, 200);
  await measure('create detached', 'POST', EP_URL, { id: 'm2', name: 'web-2', labels: { app: 'web' } }, 201);
  await measure('attach', 'PUT', '/v1/endpoints/m2/attachment', { host: 'h1', attachment: att('/run/netns/m2') }, 200);
  await measure('detach', 'DELETE', '/v1/endpoints/m2/attachment', undefined, 200);
  await measure('labels', 'PATCH', '/v1/endpoints/m2/labels', { set: { tier: 'front' } }, 200);
  await measure('delete', 'DELETE', '/v1/endpoints/m2', undefined, 204);
  await t.app.close();
  return costs;
}

test('request cost: create, attach, status, detach, labels and delete read the same with 10 and with 10,000 endpoints', async () => {
  const small = await requestCosts(10);
  const large = await requestCosts(10_000);
  assert.deepEqual(large, small, `10 endpoints: ${JSON.stringify(small)}, 10,000: ${JSON.stringify(large)}`);
  for (const [what, c] of Object.entries(large)) assert.ok(c.rows <= 16, `${what}: rows read ${c.rows}`);
  console.log(`per request at 10,000 endpoints: ${JSON.stringify(large)}`);
});
