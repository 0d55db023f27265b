import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../base/cidr.js';
import type { Network } from '../model/types.js';
import { keys } from '../model/keys.js';
import { MemoryStore } from '../store/memory.js';
import { findFree, isAssignable, poolOf } from './ipam.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

const net = { id: 'n', subnet: '10.0.0.0/29', gateway: '10.0.0.1' } as Network;
const ip = (s: string) => parseIp(s)!;

test('ipam: findFree skips the gateway and held addresses, wraps, and ends when full', async () => {
  const store = new MemoryStore();
  const hold = (s: string) => store.create(keys.addr(net.id, ip(s)), '{}');
  const pool = poolOf(net);
  assert.equal(await findFree(store, net, pool.first), ip('10.0.0.2'));
  await hold('10.0.0.2');
  await hold('10.0.0.3');
  assert.equal(await findFree(store, net, pool.first), ip('10.0.0.4'));
  await hold('10.0.0.6');
  assert.equal(await findFree(store, net, ip('10.0.0.6')), ip('10.0.0.4'), 'wraps around');
  await hold('10.0.0.4');
  await hold('10.0.0.5');
  assert.equal(await findFree(store, net, pool.first), undefined);
  assert.ok(isAssignable(pool, ip('10.0.0.6')));
  for (const s of ['10.0.0.0', '10.0.0.1', '10.0.0.7', '10.0.0.8']) assert.ok(!isAssignable(pool, ip(s)), s);
});

test('ipam: 50 concurrent attaches on a /26 get unique addresses, then the subnet runs out', async () => {
  const t = await testApp();
  await seed(t, '10.0.0.0/26');
  const attach = (i: number) => t.call('POST', EP_URL, { id: `c${i}`, host: 'h1', attachment: att(`/run/netns/c${i}`) });
  const first = await Promise.all(Array.from({ length: 50 }, (_, i) => attach(i)));
  assert.ok(first.every((r) => r.status === 201), JSON.stringify(first.find((r) => r.status !== 201)?.body));
  // 62 usable addresses minus the gateway: 11 left.
  const second = await Promise.all(Array.from({ length: 15 }, (_, i) => attach(50 + i)));
  const ok = [...first, ...second].filter((r) => r.status === 201);
  const failed = second.filter((r) => r.status !== 201);
  assert.equal(ok.length, 61);
  assert.equal(failed.length, 4);
  for (const r of failed) assertError(r, 'SUBNET_EXHAUSTED');
  const ips = ok.map((r) => r.body.ip as string);
  assert.equal(new Set(ips).size, 61, 'no address handed out twice');
  assert.ok(!ips.includes('10.0.0.1') && !ips.includes('10.0.0.0') && !ips.includes('10.0.0.63'));
  assert.equal(new Set(ok.map((r) => r.body.mac)).size, 61);
  const stored = (await t.call('GET', '/v1/endpoints')).body as { ip: string }[];
  assert.equal(stored.length, 61);
  await t.app.close();
});
