/**
 * The CLI against a fake controller and a fake agent on unix sockets: checks the requests
 * the commands send, and what they print in table and JSON form.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HostView } from '../api/types.js';
import type { Endpoint, Network, Tenant } from '../model/types.js';
import { buildProgram, runCli } from './program.js';

interface Seen {
  method: string;
  url: string;
  body: unknown;
}
type Reply = { status: number; body?: unknown };

const now = new Date().toISOString();
const tenant: Tenant = { id: 't-1', name: 'admin', createdAt: now };
const red: Network = { id: 'n-1', tenant: 'admin', name: 'red', subnet: '192.168.10.0/24', gateway: '192.168.10.1', mtu: 0, vni: 4097, createdAt: now };
const bridged = { conntrack: true, policies: ['web-db'] };
const ep: Endpoint = {
  id: 'ep-1', tenant: 'admin', network: 'red', networkId: 'n-1', host: 'h1', name: 'c1', labels: { app: 'web' },
  attachment: { kind: 'netns', netns: '/run/netns/c1', netnsId: { dev: 4, ino: 4026532001 }, ifname: 'eth0' },
  mac: '0a:58:c0:a8:0a:02', ip: '192.168.10.2', prefixLen: 24, gateway: '192.168.10.1', status: 'up', createdAt: now, updatedAt: now,
  ports: [{ hostPort: 8080, port: 80, proto: 'tcp' }],
};
const detached: Endpoint = { ...ep, id: 'ep-2', name: undefined, labels: {}, attachment: undefined, host: undefined, status: 'detached', ip: '192.168.10.3', ports: undefined };
const gatewayR = { ip: '192.168.10.1', owner: { kind: 'gateway', id: 'n-1' }, createdAt: now };
const requestR = { ip: '192.168.10.9', owner: { kind: 'request', id: 'r1' }, createdAt: now, expiresAt: '2030-01-01T00:00:00.000Z' };
const since = new Date(Date.now() - 3000).toISOString();
const host: HostView = { name: 'h1', vtep: '10.99.0.2', underlayMtu: 1500, underlay: 'lab-tnlab', registeredAt: since, state: 'up', since, leaseExpiresInMs: 29_000, realizedRevision: 42 };
const gone: HostView = { name: 'h2', vtep: '10.99.0.3', underlayMtu: 1500, underlay: 'lab-tnlab', registeredAt: since, state: 'down', since, realizedRevision: 39 };
const HOST_UP_LINE = 'host h1 is up: its lease is alive, so its agent is running: stop its agent and wait for the lease to expire (tenet host ls shows it down), then evict it';
const realization = {
  endpoint: 'ep-1',
  revision: 40,
  realized: false,
  hosts: [{ host: 'h1', state: 'up', realizedRevision: 42, realized: true }, { host: 'h2', state: 'down', realizedRevision: 39, realized: false }],
};
const notFound = (code: string, message: string): Reply => ({ status: 404, body: { error: { code, message } } });

function route(method: string, url: string): Reply {
  const table: Record<string, Reply> = {
    'POST /v1/tenants': { status: 201, body: tenant },
    'GET /v1/tenants': { status: 200, body: [tenant] },
    'DELETE /v1/tenants/admin': { status: 204 },
    'POST /v1/tenants/admin/networks': { status: 201, body: red },
    'POST /v1/tenants/ghost/networks': notFound('TENANT_NOT_FOUND', 'no tenant "ghost": create it with `tenet tenant create ghost`'),
    'GET /v1/networks': { status: 200, body: [red] },
    'GET /v1/tenants/admin/networks/red': { status: 200, body: red },
    'GET /v1/tenants/admin/networks/red/bridged-traffic': { status: 200, body: bridged },
    'GET /v1/endpoints?tenant=admin&network=red': { status: 200, body: [ep] },
    'GET /v1/endpoints?host=h1': { status: 200, body: [ep] },
    'GET /v1/hosts': { status: 200, body: [host, gone] },
    'POST /v1/hosts/h2/evict': { status: 204 },
    'POST /v1/hosts/h1/evict': { status: 409, body: { error: { code: 'HOST_UP', message: HOST_UP_LINE } } },
    'POST /v1/endpoints': { status: 201, body: ep }, // the agent's attach
    'DELETE /v1/endpoints/ep-1': { status: 204 },
    'DELETE /v1/endpoints/ep-2': { status: 204 },
    'GET /v1/endpoints/ep-2': { status: 200, body: detached },
    'POST /v1/endpoints/ep-1/detach': { status: 200, body: detached },
    'POST /v1/endpoints/ep-2/attach': { status: 200, body: ep },
    'POST /v1/tenants/admin/networks/red/endpoints': { status: 201, body: detached },
    'PATCH /v1/endpoints/ep-1/labels': { status: 200, body: ep },
    'PUT /v1/endpoints/ep-1/ports': { status: 200, body: ep },
    'GET /v1/endpoints?label=app%3Dweb&label=tier': { status: 200, body: [ep, detached] },
    'GET /v1/tenants/admin/networks/red/addresses': { status: 200, body: [gatewayR] },
    'POST /v1/tenants/admin/networks/red/addresses': { status: 201, body: requestR },
    'DELETE /v1/tenants/admin/networks/red/addresses/192.168.10.9': { status: 204 },
    'GET /v1/endpoints/ep-1': { status: 200, body: ep },
    'GET /v1/endpoints/ep-1/realized': { status: 200, body: realization },
  };
  return table[`${method} ${url}`] ?? notFound('BAD_REQUEST', `fake server has no route ${method} ${url}`);
}

const seen: Seen[] = [];
let dir = '';
let server: http.Server;
let api = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenet-cli-'));
  api = `unix:${join(dir, 'api.sock')}`;
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: text ? JSON.parse(text) : undefined });
      const reply = route(req.method ?? '', req.url ?? '');
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'api.sock'), resolve));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tenet(...args: string[]) {
  let out = '';
  let err = '';
  seen.length = 0;
  const code = await runCli(['--api', api, ...args], buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }));
  return { code, out, err, seen: [...seen] };
}

test('tenant create posts the name and prints a one-row table', async () => {
  const r = await tenet('tenant', 'create', 'admin');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen, [{ method: 'POST', url: '/v1/tenants', body: { name: 'admin' } }]);
  assert.match(r.out, /^NAME\s+ID\s+CREATED\nadmin\s+t-1\s+\d+s ago\n$/);
});

test('net create sends subnet, gateway, mtu and vni as typed values', async () => {
  const r = await tenet('net', 'create', 'red', '--tenant', 'admin', '--subnet', '192.168.10.0/24', '--gateway', '192.168.10.1', '--mtu', '1400', '--vni', '4097');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen[0]?.body, { name: 'red', subnet: '192.168.10.0/24', gateway: '192.168.10.1', mtu: 1400, vni: 4097 });
  assert.equal(r.out.split('\n')[0], 'TENANT  NAME  SUBNET           GATEWAY       VNI   MTU   POLICIES');
  assert.equal(r.out.split('\n')[1], 'admin   red   192.168.10.0/24  192.168.10.1  4097  auto  -');
});

test('an API error prints one line `tenet: <message>` and exits 1', async () => {
  const r = await tenet('net', 'create', 'red', '--tenant', 'ghost', '--subnet', '192.168.10.0/24');
  assert.equal(r.code, 1);
  assert.equal(r.err, 'tenet: no tenant "ghost": create it with `tenet tenant create ghost`\n');
  assert.equal(r.out, '');
});

test('-o json prints the raw API objects', async () => {
  const r = await tenet('-o', 'json', 'net', 'ls');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), [red]);
  const after = await tenet('tenant', 'ls', '-o', 'json'); // global options work after the subcommand too
  assert.deepEqual(JSON.parse(after.out), [tenant]);
});

test('net show prints the network fields and its endpoints', async () => {
  const r = await tenet('net', 'show', 'red', '--tenant', 'admin');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^name: +red$/m);
  assert.match(r.out, /^vni: +4097$/m);
  assert.match(r.out, /^bridged traffic: +conntrack: rules of web-db act on it$/m);
  assert.match(r.out, /^ep-1\s+c1\s+admin\s+red\s+h1\s+192\.168\.10\.2\/24\s+0a:58:c0:a8:0a:02\s+\/run\/netns\/c1\s+up\s+8080:80\/tcp\s+app=web$/m);
  const json = await tenet('-o', 'json', 'net', 'show', 'red', '--tenant', 'admin');
  assert.deepEqual(JSON.parse(json.out), { network: red, bridgedTraffic: bridged, endpoints: [ep] });
});

test('ep show says whether every host has realized the endpoint', async () => {
  const r = await tenet('ep', 'show', 'ep-1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^realized: +no: 1\/2 hosts \(waiting for h2\)$/m);
  const json = JSON.parse((await tenet('-o', 'json', 'ep', 'show', 'ep-1')).out);
  assert.deepEqual(json.realization, realization);
});

/** Every ep attach carries a fresh idempotency key; the rest of the body is checked as sent. */
function keyed(body: unknown): unknown {
  const { idempotencyKey, ...rest } = body as Record<string, unknown>;
  assert.match(String(idempotencyKey), /^[0-9a-f-]{36}$/, 'an idempotency key per invocation');
  return rest;
}

test('ep attach goes to the agent with the request the plugins would send', async () => {
  const r = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--netns', '/run/netns/c1', '--ip', '192.168.10.2', '--agent', api);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen.map((s) => ({ ...s, body: keyed(s.body) })), [
    { method: 'POST', url: '/v1/endpoints', body: { tenant: 'admin', network: 'red', netns: '/run/netns/c1', ifname: 'eth0', ip: '192.168.10.2' } },
  ]);
  assert.equal(r.out, 'ID    NAME  IP               MAC                IFNAME  STATUS\nep-1  c1    192.168.10.2/24  0a:58:c0:a8:0a:02  eth0    up\n');
});

test('ep attach --pid sends the pid as a number', async () => {
  const r = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--pid', '4242', '--ifname', 'net1', '--agent', api);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(keyed(r.seen[0]?.body), { tenant: 'admin', network: 'red', pid: 4242, ifname: 'net1' });
});

test('ep attach --name --label sends them; ep attach ID attaches an existing endpoint', async () => {
  const r = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--netns', 'c1', '--name', 'c1', '--label', 'app=web', '--label', 'tier=front', '--agent', api);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(keyed(r.seen[0]?.body), { tenant: 'admin', network: 'red', netns: 'c1', ifname: 'eth0', name: 'c1', labels: { app: 'web', tier: 'front' } });
  const existing = await tenet('ep', 'attach', 'ep-2', '--netns', '/run/netns/c2', '--agent', api);
  assert.equal(existing.code, 0, existing.err);
  assert.deepEqual(existing.seen.map((s) => ({ ...s, body: keyed(s.body) })), [{ method: 'POST', url: '/v1/endpoints/ep-2/attach', body: { netns: '/run/netns/c2', ifname: 'eth0' } }]);
  const mixed = await tenet('ep', 'attach', 'ep-2', '--netns', '/run/netns/c2', '--tenant', 'admin', '--agent', api);
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /exists already: give only --netns/);
  const bad = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--netns', 'c1', '--label', 'novalue', '--agent', api);
  assert.equal(bad.code, 2);
});

test('ep create makes a detached endpoint through the controller; ep label sets and removes', async () => {
  const r = await tenet('ep', 'create', '--tenant', 'admin', '--net', 'red', '--ip', '192.168.10.3', '--label', 'app=web');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen, [{ method: 'POST', url: '/v1/tenants/admin/networks/red/endpoints', body: { ip: '192.168.10.3', labels: { app: 'web' } } }]);
  assert.match(r.out, /^ep-2\s+-\s+192\.168\.10\.3\/24\s+\S+\s+-\s+detached$/m);
  const l = await tenet('ep', 'label', 'ep-1', 'tier=front', 'app-');
  assert.equal(l.code, 0, l.err);
  assert.deepEqual(l.seen[0]?.body, { set: { tier: 'front' }, remove: ['app'] });
  assert.equal((await tenet('ep', 'label', 'ep-1', 'justakey')).code, 2);
});

test('ep detach keeps the endpoint (agent); ep rm goes to the agent when attached, to the controller when not', async () => {
  const d = await tenet('ep', 'detach', 'ep-1', '--agent', api);
  assert.deepEqual(d.seen[0], { method: 'POST', url: '/v1/endpoints/ep-1/detach', body: undefined });
  assert.match(d.out, /keeps its address/);
  const rmAttached = await tenet('ep', 'rm', 'ep-1', '--agent', api);
  assert.deepEqual(rmAttached.seen.map((s) => `${s.method} ${s.url}`), ['GET /v1/endpoints/ep-1', 'DELETE /v1/endpoints/ep-1']);
  const rmDetached = await tenet('ep', 'rm', 'ep-2', '--agent', api);
  assert.deepEqual(rmDetached.seen.map((s) => `${s.method} ${s.url}`), ['GET /v1/endpoints/ep-2', 'DELETE /v1/endpoints/ep-2']);
});

test('ep ls shows attached and detached endpoints and filters by label', async () => {
  const ls = await tenet('ep', 'ls', '--label', 'app=web', '--label', 'tier');
  assert.equal(ls.code, 0, ls.err);
  assert.match(ls.out, /^ID\s+NAME\s+TENANT\s+NETWORK\s+HOST\s+IP\s+MAC\s+ATTACHED\s+STATUS\s+PORTS\s+LABELS\n/);
  assert.match(ls.out, /^ep-1 .*\/run\/netns\/c1\s+up\s+8080:80\/tcp\s+app=web$/m);
  assert.match(ls.out, /^ep-2\s+-\s+admin\s+red\s+-\s+192\.168\.10\.3\/24\s+\S+\s+-\s+detached\s+-\s+-$/m);
});

test('ep expose merges into the endpoint\'s ports; unexpose removes named ones or all; bad specs send nothing', async () => {
  const ex = await tenet('ep', 'expose', 'ep-1', '9090:90/udp', '10.0.0.1:8443:443', '--host-ip', '10.0.0.9');
  assert.equal(ex.code, 0, ex.err);
  assert.deepEqual(ex.seen.map((s) => `${s.method} ${s.url}`), ['GET /v1/endpoints/ep-1', 'PUT /v1/endpoints/ep-1/ports']);
  assert.deepEqual(ex.seen[1]?.body, { ports: [{ hostPort: 8080, port: 80, proto: 'tcp' }, { hostPort: 9090, port: 90, proto: 'udp', hostIp: '10.0.0.9' }, { hostPort: 8443, port: 443, proto: 'tcp', hostIp: '10.0.0.1' }] });
  assert.match(ex.out, /^ID\s+NAME\s+HOST\s+IP\s+PORTS\nep-1\s+c1\s+h1\s+192\.168\.10\.2\s+8080:80\/tcp$/m);
  const bad = await tenet('ep', 'expose', 'ep-1', '8080');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /invalid port '8080'/);
  assert.deepEqual(bad.seen, []);
  const un = await tenet('ep', 'unexpose', 'ep-1', '8080/tcp');
  assert.deepEqual(un.seen[1]?.body, { ports: [] });
  const none = await tenet('ep', 'unexpose', 'ep-1', '7070');
  assert.match(none.err, /publishes no host port 7070/);
  assert.deepEqual(none.seen.map((s) => s.method), ['GET'], 'nothing written');
  const show = await tenet('ep', 'show', 'ep-1');
  assert.match(show.out, /^ports:\s+8080:80\/tcp$/m);
});

test('ip ls, reserve and release', async () => {
  const ls = await tenet('ip', 'ls', '--tenant', 'admin', '--net', 'red');
  assert.match(ls.out, /^IP\s+OWNER\s+ID\s+AGE\s+EXPIRES\n192\.168\.10\.1\s+gateway\s+-\s+/);
  const r = await tenet('ip', 'reserve', '--tenant', 'admin', '--net', 'red', '--id', 'r1', '--ttl', '60');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen[0]?.body, { owner: { kind: 'request', id: 'r1' }, ttlSeconds: 60 });
  const rel = await tenet('ip', 'release', '192.168.10.9', '--tenant', 'admin', '--net', 'red');
  assert.equal(rel.out, 'released 192.168.10.9\n');
});

test('tenant rm', async () => {
  const rm = await tenet('tenant', 'rm', 'admin');
  assert.equal(rm.out, 'removed tenant admin\n');
});

test('host ls shows up and down hosts, up since as an age', async () => {
  const r = await tenet('host', 'ls');
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^NAME\s+VTEP\s+UNDERLAY\s+STATE\s+SINCE\s+REALIZED\s+MTU\nh1\s+10\.99\.0\.2\s+lab-tnlab\s+up\s+\d+s ago\s+42\s+1500\nh2\s+10\.99\.0\.3\s+lab-tnlab\s+down\s+-\s+39\s+1500\n$/,
  );
});

test('host evict: a down host is evicted; an up one is refused with one line', async () => {
  const ok = await tenet('host', 'evict', 'h2');
  assert.deepEqual([ok.code, ok.out], [0, 'evicted host h2\n']);
  const refused = await tenet('host', 'evict', 'h1');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^tenet: host h1 is up: its lease is alive.*then evict it\n$/);
});
