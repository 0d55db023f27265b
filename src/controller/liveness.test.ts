/**
 * Host expiry and eviction with a short lease TTL: a host whose agent stops keeping its lease
 * alive goes down, keeps its endpoints and their addresses, and only an evict frees them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../base/async.js';
import { keys } from '../model/keys.js';
import { internalKeys } from './repo.js';
import { EP_URL, assertError, att, seed, testApp, type TestApp } from './testing.js';

// Long enough that a keep-alive every TTL/3 survives event-loop stalls of a loaded 2-core machine.
const TTL = 1_000;
/** Expiry is checked every 100 ms by the store: the TTL plus a margin bounds the wait. */
const DOWN_WITHIN = TTL + 2_000;

type View = { name: string; state: string };
const stateOf = async (t: TestApp, name: string) => ((await t.call('GET', '/v1/hosts')).body as View[]).find((h) => h.name === name)?.state;

/** Keeps a host's lease alive every TTL/3, as its agent would, until stopped. */
function keepAlive(t: TestApp, name: string, lease: number): () => void {
  const timer = setInterval(() => void t.call('POST', `/v1/hosts/${name}/heartbeat`, { lease }), TTL / 3);
  return () => clearInterval(timer);
}

test('liveness: keep-alives keep a host up; without them it is down within the TTL and a margin', async () => {
  const t = await testApp({ hostLeaseMs: TTL });
  const alive = (await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 })).body.lease;
  assert.equal(alive.ttlMs, TTL);
  const stop = keepAlive(t, 'h1', alive.id);
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  assert.deepEqual([await stateOf(t, 'h1'), await stateOf(t, 'h2')], ['up', 'up']);
  await waitFor(async () => ((await stateOf(t, 'h2')) === 'down' ? true : undefined), DOWN_WITHIN, 'h2 to go down');
  assert.equal(await stateOf(t, 'h1'), 'up', 'positive control: h1, registered earlier and kept alive, is still up');
  stop();
  const down = (await t.call('GET', '/v1/hosts')).body.find((h: View) => h.name === 'h2');
  assert.equal(down.leaseExpiresInMs, undefined);
  assert.ok(await t.store.get(keys.host('h2')), 'the record stays');
  // It comes back with a new lease, and its record is not rewritten (same fields).
  const rev = (await t.store.get(keys.host('h2')))!.modRevision;
  const back = await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  assert.deepEqual([back.status, await stateOf(t, 'h2'), (await t.store.get(keys.host('h2')))!.modRevision], [200, 'up', rev]);
  assert.ok(t.logs.some((l) => l.msg === 'host up: new lease' && l.fields.host === 'h2'));
  await t.app.close();
});

test('liveness: a down host keeps its endpoints and IPAM never re-uses their addresses; a freed address is re-used', async () => {
  const t = await testApp({ hostLeaseMs: TTL });
  await seed(t, '10.0.0.0/29'); // gateway .1, endpoints .2 to .6
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  const theirs: { id: string; ip: string }[] = [];
  for (const id of ['d1', 'd2']) theirs.push((await t.call('POST', EP_URL, { id, host: 'h2', attachment: att(`/n/${id}`) })).body);
  await waitFor(async () => ((await stateOf(t, 'h2')) === 'down' ? true : undefined), DOWN_WITHIN, 'h2 to go down');
  const mine: { id: string; ip: string }[] = [];
  for (const id of ['a', 'b', 'c']) mine.push((await t.call('POST', EP_URL, { id, host: 'h1', attachment: att(`/n/${id}`) })).body);
  assert.equal(mine.filter((e) => theirs.some((d) => d.ip === e.ip)).length, 0, 'no address of the down host is handed out');
  assertError(await t.call('POST', EP_URL, { id: 'x', host: 'h1', attachment: att('/n/x') }), 'SUBNET_EXHAUSTED');
  const kept = (await t.call('GET', '/v1/endpoints?host=h2')).body;
  assert.deepEqual(kept.map((e: { id: string; ip: string }) => [e.id, e.ip]), theirs.map((e) => [e.id, e.ip]), 'its endpoints are kept');
  // Positive control: an address that is freed is handed out again.
  assert.equal((await t.call('DELETE', '/v1/endpoints/b')).status, 204);
  assert.equal((await t.call('POST', EP_URL, { id: 'y', host: 'h1', attachment: att('/n/y') })).body.ip, mine[1].ip);
  await t.app.close();
});

test('liveness: evict is refused while the host is up and writes nothing; once down it removes the host and frees its addresses', async () => {
  const t = await testApp({ hostLeaseMs: TTL });
  await seed(t, '10.0.0.0/29');
  const lease = (await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 })).body.lease;
  const stop = keepAlive(t, 'h2', lease.id);
  const d1 = (await t.call('POST', EP_URL, { id: 'd1', host: 'h2', attachment: att('/n/d1') })).body;
  await t.call('PUT', '/v1/hosts/h2/realized', { revision: 9 });
  const rev = await t.store.revision();
  const line = assertError(await t.call('POST', '/v1/hosts/h2/evict'), 'HOST_UP');
  assert.match(line, /^host h2 is up: its lease is alive.*stop its agent and wait for the lease to expire/);
  assert.equal(await t.store.revision(), rev, 'a refused evict writes nothing');
  stop();
  await waitFor(async () => ((await stateOf(t, 'h2')) === 'down' ? true : undefined), DOWN_WITHIN, 'h2 to go down');
  assert.equal((await t.call('POST', '/v1/hosts/h2/evict')).status, 204);
  assert.deepEqual((await t.call('GET', '/v1/hosts')).body.map((h: View) => h.name), ['h1']);
  assert.deepEqual((await t.call('GET', '/v1/endpoints')).body, []);
  assert.equal(await t.store.get(internalKeys.realized('h2')), undefined);
  assert.deepEqual(t.logs.find((l) => l.msg === 'host evicted')?.fields, { host: 'h2', endpoints: ['d1'] });
  // Its address is free again, and the host, should it come back, registers as new.
  const next: string[] = [];
  for (let i = 0; i < 5; i++) next.push((await t.call('POST', EP_URL, { host: 'h1', attachment: att(`/n/e${i}`) })).body.ip);
  assert.ok(next.includes(d1.ip), `${d1.ip} re-used among ${next}`);
  assert.equal((await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 })).status, 201);
  assertError(await t.call('POST', '/v1/hosts/h2/heartbeat', { lease: lease.id }), 'LEASE_EXPIRED');
  await t.app.close();
});
