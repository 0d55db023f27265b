/**
 * The controller's TCP API (issue 5, part 1): TLS only, bearer tokens, join tokens that become
 * per-host credentials confined to their own host. Requests go through app.inject (the hooks
 * are the same as over a socket); the real https listener is exercised in
 * controller-process.test.ts. Every refusal stands next to the same request allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256Hex } from '../api/credentials.js';
import { buildControllerApp } from '../controller/app.js';
import { recordingLogger } from '../controller/testing.js';
import { authKeys } from '../controller/tokens.js';
import { kindOfKey } from '../model/keys.js';
import { MemoryStore } from '../store/memory.js';
import { tcpFixture } from './testing-tcp.js';

const fx = tcpFixture();
const { tcpApp, joinedHost } = fx;

test('a TCP app is never built without TLS material', async () => {
  await assert.rejects(
    buildControllerApp({ store: new MemoryStore(), logger: recordingLogger([]), version: 'test', auth: { transport: 'tcp', adminTokenHash: sha256Hex(fx.admin.secret) } }),
    /TLS only/,
  );
});

test('over TCP: no token or a wrong one is 401; the admin token works; the CA is public', async () => {
  const { call, close } = await tcpApp();
  try {
    const none = await call('GET', '/v1/tenants');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'UNAUTHENTICATED');
    assert.match(none.body.error.message, /--token/);
    assert.equal((await call('GET', '/v1/tenants', undefined, `tenet-fx.admin.${'0'.repeat(64)}`)).status, 401);
    assert.equal((await call('GET', '/v1/tenants', undefined, 'garbage')).status, 401);
    assert.equal((await call('POST', '/v1/tenants', { name: 'x' })).status, 401);
    assert.equal((await call('GET', '/v1/tenants', undefined, fx.admin.token)).status, 200);
    assert.equal((await call('POST', '/v1/tenants', { name: 'x' }, fx.admin.token)).status, 201);
    const ca = await call('GET', '/v1/ca');
    assert.equal(ca.status, 200);
    assert.equal(ca.body, fx.tls.caPem);
  } finally {
    await close();
  }
});

test('a join token becomes a host credential that reads, but cannot administer', async () => {
  const { call, store, close } = await tcpApp();
  try {
    const cred = await joinedHost(call);
    assert.match(cred, /^tenet-host\.[0-9a-f]{64}\.h1$/);
    for (const url of ['/v1/snapshot', '/v1/health', '/v1/hosts', '/v1/endpoints', '/v1/networks']) assert.equal((await call('GET', url, undefined, cred)).status, 200, url);
    assert.equal((await call('POST', '/v1/tenants', { name: 'evil' }, cred)).status, 403);
    assert.equal((await call('GET', '/v1/tokens', undefined, cred)).status, 403);
    assert.equal((await call('POST', '/v1/tokens', { kind: 'agent' }, cred)).status, 403);
    assert.equal((await call('DELETE', '/v1/hosts/h1', undefined, cred)).status, 403);
    assert.equal((await call('GET', '/v1/tokens', undefined, fx.admin.token)).status, 200);
    assert.equal((await call('GET', '/v1/status', undefined, cred)).status, 403, 'the cluster status is admin business');
    assert.equal((await call('GET', '/v1/status', undefined, fx.admin.token)).status, 200);
    // The store keeps hashes only, under keys no watch or snapshot forwards.
    const stored = (await store.get(authKeys.host('h1')))!.value;
    assert.ok(!stored.includes(cred.split('.')[1]!));
    assert.equal(kindOfKey(authKeys.host('h1')), undefined);
    assert.equal(kindOfKey(authKeys.join('abc')), undefined);
  } finally {
    await close();
  }
});

test("a host credential writes its own host record and endpoints, never another host's", async () => {
  const { call, close } = await tcpApp();
  try {
    const cred = await joinedHost(call);
    const vtep = { vtep: '192.0.2.1', underlayMtu: 1500 };
    assert.equal((await call('PUT', '/v1/hosts/h1', vtep, cred)).status, 201);
    const hijack = await call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.66', underlayMtu: 1500 }, cred);
    assert.equal(hijack.status, 403);
    assert.equal(hijack.body.error.code, 'FORBIDDEN');
    assert.equal((await call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 }, fx.admin.token)).status, 201);
    assert.equal((await call('GET', '/v1/hosts', undefined, fx.admin.token)).body.find((h: any) => h.name === 'h2').vtep, '192.0.2.2');

    const url = '/v1/tenants/acme/networks/web/endpoints';
    const mine = await call('POST', url, { host: 'h1', netns: '/run/netns/a', ifname: 'eth0' }, cred);
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
    assert.equal((await call('POST', url, { host: 'h2', netns: '/run/netns/b', ifname: 'eth0' }, cred)).status, 403);
    const theirs = await call('POST', url, { host: 'h2', netns: '/run/netns/b', ifname: 'eth0' }, fx.admin.token);
    assert.equal(theirs.status, 201);

    const status = { status: 'up' };
    assert.equal((await call('PATCH', `/v1/endpoints/${theirs.body.id}/status`, status, cred)).status, 403);
    assert.equal((await call('PATCH', `/v1/endpoints/${mine.body.id}/status`, status, cred)).status, 200);
    const ports = { ports: [{ hostPort: 8080, port: 80, proto: 'tcp' }] };
    assert.equal((await call('PUT', `/v1/endpoints/${theirs.body.id}/ports`, ports, cred)).status, 403, "another host's endpoint's ports");
    assert.equal((await call('PUT', `/v1/endpoints/${mine.body.id}/ports`, ports, cred)).status, 200, 'its own endpoint publishes ports');
    assert.equal((await call('DELETE', `/v1/endpoints/${theirs.body.id}`, undefined, cred)).status, 403);
    assert.equal((await call('DELETE', `/v1/endpoints/${mine.body.id}`, undefined, cred)).status, 204);
    assert.equal((await call('GET', `/v1/endpoints/${theirs.body.id}`, undefined, fx.admin.token)).status, 200);
  } finally {
    await close();
  }
});

test("a host credential keeps only its own lease alive and reports only its own realization; evict is admin-only", async () => {
  const { call, close } = await tcpApp();
  try {
    const cred = await joinedHost(call);
    const h1 = (await call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 }, cred)).body.lease;
    const h2 = (await call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 }, fx.admin.token)).body.lease;
    assert.equal((await call('POST', '/v1/hosts/h1/heartbeat', { lease: h1.id }, cred)).status, 204);
    const other = await call('POST', '/v1/hosts/h2/heartbeat', { lease: h2.id }, cred);
    assert.deepEqual([other.status, other.body.error.code], [403, 'FORBIDDEN']);
    assert.equal((await call('PUT', '/v1/hosts/h1/realized', { revision: 4 }, cred)).status, 204);
    assert.equal((await call('PUT', '/v1/hosts/h2/realized', { revision: 4 }, cred)).status, 403);
    assert.equal((await call('POST', '/v1/hosts/h1/evict', undefined, cred)).status, 403, 'not even its own host');
    // Positive control: the admin gets past access control (and meets HOST_UP: h2 is up).
    assert.equal((await call('POST', '/v1/hosts/h2/evict', undefined, fx.admin.token)).body.error.code, 'HOST_UP');
  } finally {
    await close();
  }
});

test('expired, deleted or reused-for-a-joined-host join tokens are refused; a revoked credential stops working', async () => {
  const { call, store, close } = await tcpApp();
  try {
    const cred = await joinedHost(call);
    const make = async () => (await call('POST', '/v1/tokens', { kind: 'agent', ttlSeconds: 3600 }, fx.admin.token)).body as { id: string; token: string };
    const secretOf = (t: { token: string }) => t.token.split('.').slice(2).join('.');

    const expiring = await make();
    const kv = (await store.get(authKeys.join(expiring.id)))!;
    await store.update(kv.key, JSON.stringify({ ...JSON.parse(kv.value), expires: new Date(Date.now() - 1000).toISOString() }), kv.modRevision);
    const expired = await call('POST', '/v1/join', { token: secretOf(expiring), host: 'h3' });
    assert.equal(expired.status, 401);
    assert.match(expired.body.error.message, /expired/);

    const deleted = await make();
    assert.equal((await call('DELETE', `/v1/tokens/${deleted.id}`, undefined, fx.admin.token)).status, 204);
    assert.equal((await call('POST', '/v1/join', { token: secretOf(deleted), host: 'h3' })).status, 401);
    assert.equal((await call('DELETE', `/v1/tokens/${deleted.id}`, undefined, fx.admin.token)).body.error.code, 'TOKEN_NOT_FOUND');

    const good = await make();
    assert.equal((await call('POST', '/v1/join', { token: secretOf(good), host: 'h1' })).status, 403); // h1 has joined
    assert.equal((await call('POST', '/v1/join', { token: secretOf(good), host: 'h3' })).status, 201);
    assert.equal((await call('POST', '/v1/join', { token: `${good.id}.${'0'.repeat(32)}`, host: 'h4' })).status, 401);

    assert.equal((await call('GET', '/v1/snapshot', undefined, cred)).status, 200);
    assert.equal((await call('DELETE', '/v1/hosts/h1/credential', undefined, fx.admin.token)).status, 204);
    assert.equal((await call('GET', '/v1/snapshot', undefined, cred)).status, 401);
  } finally {
    await close();
  }
});

test('without TLS (unix-socket controller) no join token can be made', async () => {
  const app = await buildControllerApp({ store: new MemoryStore(), logger: recordingLogger([]), version: 'test' });
  try {
    const res = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { kind: 'agent' } });
    assert.equal(res.statusCode, 400);
    assert.match(JSON.parse(res.body).error.message, /--listen/);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/tokens' })).statusCode, 200); // the socket is admin
  } finally {
    await app.close();
  }
});

test("a host credential lists and watches its own view only (ADR 011), never another host's", async () => {
  const { call, close } = await tcpApp();
  try {
    const cred = await joinedHost(call);
    assert.equal((await call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 }, cred)).status, 201);
    const own = await call('GET', '/v1/snapshot?host=h1', undefined, cred);
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.objects.host.map((h: { name: string }) => h.name), ['h1']);
    for (const url of ['/v1/snapshot?host=h2', '/v1/watch?host=h2']) {
      const other = await call('GET', url, undefined, cred);
      assert.equal(other.status, 403, url);
      assert.equal(other.body.error.code, 'FORBIDDEN');
    }
    assert.equal((await call('GET', '/v1/snapshot?host=h2', undefined, fx.admin.token)).status, 200, 'the admin may read any view');
  } finally {
    await close();
  }
});
