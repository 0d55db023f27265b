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
  c.reset({ revision: 10, objects: { tenant: [], network: [web], endpoint: [e1], host: [host('h1', '192.0.2.1')], policy: [] } });
  return c;
}

test('cache: filled from a snapshot by kind; changes report their tenant; heartbeats and status reports are not changes, label changes are', () => {
  const c = listed();
  assert.deepEqual([c.networks.size, c.endpoints.size, c.hosts.size], [1, 1, 1]);
  assert.equal(c.apply({ type: 'put', kind: 'host', revision: 11, object: { ...host('h1', '192.0.2.1'), underlayMtu: 9000 } }), undefined);
  assert.deepEqual(c.apply({ type: 'put', kind: 'host', revision: 12, object: host('h1', '192.0.2.9') }), { kind: 'host', tenant: undefined });
  assert.equal(c.apply(put({ ...e1, status: 'up' }, 13)), undefined, 'a status report');
  assert.deepEqual(c.apply(put({ ...e1, labels: { a: 'b' } }, 14)), { kind: 'endpoint', tenant: 'acme' }, 'a label change (policy groups match labels: issue 7)');
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

test('cache: the indexes always agree with a walk of the whole cache, through a random history of every kind of write', () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const tenants = ['t0', 't1', 't2'];
  const hosts = ['h1', 'h2', 'h3'];
  const nets = tenants.map((t, i) => net(t, 'n', `10.${i}.0.0/24`, 100 + i));
  const c = new ObjectCache();
  c.reset({ revision: 1, objects: { tenant: [], network: nets.slice(0, 2), endpoint: [], host: hosts.map((h, i) => host(h, `192.0.2.${i + 1}`)), policy: [] } });
  const undos: (() => void)[] = [];
  for (let step = 0; step < 3000; step++) {
    const e = { ...ep(`e${rand(40)}`, nets[rand(3)]!, hosts[rand(3)]!, `10.0.0.${2 + rand(200)}`, '/run/netns/x'), createdAt: `g${rand(3)}` };
    const op = rand(10);
    if (op < 4) c.apply(put(e, step + 2));
    else if (op < 6) c.apply(del(c.endpoints.get(e.id) ?? e, step + 2));
    else if (op === 6) c.putLocalEndpoint(e);
    else if (op === 7) undos.push(c.forgetLocalEndpoint(e.id));
    else if (op === 8 && undos.length) undos.splice(rand(undos.length), 1)[0]!();
    else c.apply({ type: rand(2) ? 'put' : 'delete', kind: 'network', revision: step + 2, object: nets[rand(3)]! });
    const all = [...c.endpoints.values()];
    for (const h of hosts) {
      assert.deepEqual(ids(c.endpointsOn(h).values()), ids(all.filter((x) => x.host === h)), `step ${step}: endpoints on ${h}`);
      for (const t of tenants) assert.deepEqual(ids(c.endpointsOn(h, t).values()), ids(all.filter((x) => x.host === h && x.tenant === t)), `step ${step}: ${h}/${t}`);
    }
    for (const t of tenants) {
      const s = c.scopeOf([t]);
      assert.deepEqual(ids(s.endpoints), ids(all.filter((x) => x.tenant === t)), `step ${step}: endpoints of ${t}`);
      assert.deepEqual(ids(s.networks), ids([...c.networks.values()].filter((n) => n.tenant === t)), `step ${step}: networks of ${t}`);
      assert.deepEqual(s.hosts.map((h) => h.name).sort(), [...new Set(s.endpoints.map((x) => x.host!))].sort(), `step ${step}: hosts of ${t}`);
    }
  }
  for (const e of [...c.endpoints.values()]) c.apply(del(e, 9000));
  for (const n of [...c.networks.values()]) c.apply({ type: 'delete', kind: 'network', revision: 9001, object: n });
  assert.equal(c.indexGroups, 0, 'no index group outlives its last object');
});

const ids = (xs: Iterable<{ id: string }>): string[] => [...xs].map((x) => x.id).sort();
