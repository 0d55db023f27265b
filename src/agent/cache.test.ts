import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WatchMessage } from '../api/types.js';
import { ep, host, net } from '../datapath/testing/objects.js';
import type { Endpoint } from '../model/types.js';
import { ObjectCache } from './cache.js';

const web = net('acme', 'web', '10.0.0.0/24', 4100);
const e1 = ep('e1', web, 'h1', '10.0.0.2', '/run/netns/c1');
const put = (object: Endpoint, revision: number): WatchMessage => ({ type: 'put', kind: 'endpoint', revision, object });
const del = (object: Endpoint, revision: number): WatchMessage => ({ type: 'delete', kind: 'endpoint', revision, object });

function listed(): ObjectCache {
  const c = new ObjectCache();
  c.reset({ revision: 10, objects: { tenant: [], network: [web], endpoint: [e1], host: [host('h1', '192.0.2.1')] } });
  return c;
}

test('cache: filled from a snapshot by kind; changes report their tenant; heartbeats and status reports are not changes', () => {
  const c = listed();
  assert.deepEqual([c.networks.size, c.endpoints.size, c.hosts.size], [1, 1, 1]);
  assert.equal(c.apply({ type: 'put', kind: 'host', revision: 11, object: { ...host('h1', '192.0.2.1'), underlayMtu: 9000 } }), undefined);
  assert.deepEqual(c.apply({ type: 'put', kind: 'host', revision: 12, object: host('h1', '192.0.2.9') }), { kind: 'host', tenant: undefined });
  assert.equal(c.apply(put({ ...e1, status: 'up' }, 13)), undefined, 'a status report');
  assert.equal(c.apply(put({ ...e1, labels: { a: 'b' } }, 14)), undefined, 'a label change');
  assert.deepEqual(c.apply(put({ ...e1, attachment: undefined, status: 'detached' }, 15)), { kind: 'endpoint', tenant: 'acme' }, 'a detach');
  assert.equal(c.apply({ type: 'put', kind: 'tenant', revision: 16, object: { id: 't', name: 'acme', createdAt: '' } }), undefined);
  assert.equal(c.tenants.size, 1);
  assert.equal(c.revision, 16);
});

test('cache: a late put of an endpoint this agent removed never brings it back, and its delete ends the tombstone', () => {
  const c = listed();
  c.forgetLocalEndpoint('e1');
  assert.equal(c.apply(put({ ...e1, status: 'up' }, 11)), undefined, 'a put from before the delete');
  assert.equal(c.endpoints.has('e1'), false);
  assert.equal(c.apply(del(e1, 12)), undefined, 'the delete: nothing left to change here');
  assert.equal(c.tombstoneCount, 0, 'the tombstone ends with the delete');
  const again = { ...e1, createdAt: '2026-11-24T00:00:00.000Z' };
  assert.deepEqual(c.apply(put(again, 13)), { kind: 'endpoint', tenant: 'acme' }, 're-created under the same id');
  assert.equal(c.endpoints.get('e1'), again);
});

test('cache: a delete event that arrives before the tombstone is set leaves no tombstone behind', () => {
  const c = listed();
  // The watch delivers the delete before the agent's own code gets to forget the endpoint.
  c.apply(del(e1, 11));
  c.forgetLocalEndpoint('e1');
  assert.equal(c.tombstoneCount, 0, 'nothing to bury: the endpoint was gone already');
  const again = { ...e1, createdAt: '2026-11-24T00:00:00.000Z' };
  assert.deepEqual(c.apply(put(again, 12)), { kind: 'endpoint', tenant: 'acme' }, 'a re-create is seen at once, not at the next re-list');
});

test('cache: a tombstone yields to a new generation even if the delete event was missed; undo restores', () => {
  const c = listed();
  c.forgetLocalEndpoint('e1');
  const again = { ...e1, createdAt: '2026-11-24T00:00:00.000Z' };
  assert.ok(c.apply(put(again, 14)));
  assert.equal(c.tombstoneCount, 0);
  const d = listed();
  const undo = d.forgetLocalEndpoint('e1');
  undo();
  assert.equal(d.endpoints.get('e1'), e1);
  assert.equal(d.tombstoneCount, 0);
});
