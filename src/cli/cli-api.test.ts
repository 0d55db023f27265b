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
import type { Endpoint, Host, Network, Tenant } from '../model/types.js';
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
const ep: Endpoint = {
  id: 'ep-1', tenant: 'admin', network: 'red', networkId: 'n-1', host: 'h1', netns: '/run/netns/c1', ifname: 'eth0',
  mac: '0a:58:c0:a8:0a:02', ip: '192.168.10.2', prefixLen: 24, gateway: '192.168.10.1', status: 'up', createdAt: now, updatedAt: now,
};
const host: Host = { name: 'h1', vtep: '10.99.0.2', underlayMtu: 1500, underlay: 'lab-tnlab', lastSeen: new Date(Date.now() - 3000).toISOString(), realizedRevision: 42 };
const realization = { endpoint: 'ep-1', revision: 40, realized: false, hosts: [{ host: 'h1', realizedRevision: 42, realized: true }, { host: 'h2', realizedRevision: 39, realized: false }] };
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
    'GET /v1/endpoints?tenant=admin&network=red': { status: 200, body: [ep] },
    'GET /v1/endpoints?host=h1': { status: 200, body: [ep] },
    'GET /v1/hosts': { status: 200, body: [host] },
    'POST /v1/endpoints': { status: 201, body: ep }, // the agent's attach
    'DELETE /v1/endpoints/ep-1': { status: 204 },
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
  assert.equal(r.out.split('\n')[0], 'TENANT  NAME  SUBNET           GATEWAY       VNI   MTU');
  assert.equal(r.out.split('\n')[1], 'admin   red   192.168.10.0/24  192.168.10.1  4097  auto');
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
  assert.match(r.out, /^ep-1\s+admin\s+red\s+h1\s+192\.168\.10\.2\/24\s+0a:58:c0:a8:0a:02\s+eth0\s+up$/m);
  const json = await tenet('-o', 'json', 'net', 'show', 'red', '--tenant', 'admin');
  assert.deepEqual(JSON.parse(json.out), { network: red, endpoints: [ep] });
});

test('ep show says whether every host has realized the endpoint', async () => {
  const r = await tenet('ep', 'show', 'ep-1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^realized: +no: 1\/2 hosts \(waiting for h2\)$/m);
  const json = JSON.parse((await tenet('-o', 'json', 'ep', 'show', 'ep-1')).out);
  assert.deepEqual(json.realization, realization);
});

test('ep attach goes to the agent with the request the plugins would send', async () => {
  const r = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--netns', '/run/netns/c1', '--ip', '192.168.10.2', '--agent', api);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen, [
    { method: 'POST', url: '/v1/endpoints', body: { tenant: 'admin', network: 'red', netns: '/run/netns/c1', ifname: 'eth0', ip: '192.168.10.2' } },
  ]);
  assert.equal(r.out, 'ID    IP               MAC                IFNAME  STATUS\nep-1  192.168.10.2/24  0a:58:c0:a8:0a:02  eth0    up\n');
});

test('ep attach --pid sends the pid as a number', async () => {
  const r = await tenet('ep', 'attach', '--tenant', 'admin', '--net', 'red', '--pid', '4242', '--ifname', 'net1', '--agent', api);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.seen[0]?.body, { tenant: 'admin', network: 'red', pid: 4242, ifname: 'net1' });
});

test('ep detach, ep ls with filters, tenant rm', async () => {
  assert.deepEqual((await tenet('ep', 'detach', 'ep-1', '--agent', api)).seen[0], { method: 'DELETE', url: '/v1/endpoints/ep-1', body: undefined });
  const ls = await tenet('ep', 'ls', '--host', 'h1');
  assert.equal(ls.seen[0]?.url, '/v1/endpoints?host=h1');
  assert.match(ls.out, /^ID\s+TENANT\s+NETWORK\s+HOST\s+IP\s+MAC\s+IFNAME\s+STATUS\n/);
  const rm = await tenet('tenant', 'rm', 'admin');
  assert.equal(rm.out, 'removed tenant admin\n');
});

test('host ls shows the heartbeat as an age', async () => {
  const r = await tenet('host', 'ls');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^NAME\s+STATE\s+VTEP\s+UNDERLAY\s+MTU\s+LAST SEEN\s+REVISION\nh1\s+ready\s+10\.99\.0\.2\s+lab-tnlab\s+1500\s+\d+s ago\s+42\n$/);
});
