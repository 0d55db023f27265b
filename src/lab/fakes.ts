/**
 * Test doubles for the lab's tests (and later e2e tests that need hosts without a real
 * agent): a stand-in agent script that answers the agent API on its socket, and a fake
 * controller that answers health and records host deletions.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

/**
 * A tiny agent: GET /v1/health, POST /v1/endpoints (network "missing" → NETWORK_NOT_FOUND),
 * DELETE /v1/endpoints/:id. Reads --host and --listen from its argv; exits on SIGTERM.
 */
const STAND_IN_AGENT = `
import http from 'node:http';
const arg = (flag) => process.argv[process.argv.indexOf(flag) + 1];
const host = arg('--host');
let next = 1;
const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
};
const endpoint = (r) => {
  const n = next++;
  const now = new Date().toISOString();
  return { id: 'ep-' + host + '-' + n, tenant: r.tenant, network: r.network, networkId: 'n1', host, name: r.name, labels: r.labels ?? {},
    attachment: { kind: 'netns', netns: r.netns, netnsId: { dev: 4, ino: 4026532000 + n }, ifname: r.ifname ?? 'eth0' }, mac: '0a:58:c0:a8:0a:0' + n, ip: r.ip ?? '192.168.10.' + (n + 1), prefixLen: 24,
    gateway: '192.168.10.1', status: 'up', createdAt: now, updatedAt: now };
};
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/v1/health') return send(res, 200, { ok: true, role: 'agent', revision: 0, version: 'test', host });
    if (req.method === 'POST' && req.url === '/v1/endpoints') {
      const r = JSON.parse(body);
      if (r.network === 'missing') return send(res, 404, { error: { code: 'NETWORK_NOT_FOUND', message: 'tenant ' + r.tenant + ' has no network missing' } });
      return send(res, 201, endpoint(r));
    }
    if (req.method === 'DELETE' && req.url.startsWith('/v1/endpoints/')) return send(res, 204);
    send(res, 404, { error: { code: 'BAD_REQUEST', message: 'stand-in agent has no route ' + req.method + ' ' + req.url } });
  });
}).listen(arg('--listen'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Writes the stand-in agent into `dir` and returns its path. */
export function writeStandInAgent(dir: string): string {
  const path = join(dir, 'stand-in-agent.mjs');
  writeFileSync(path, STAND_IN_AGENT);
  return path;
}

export interface FakeController {
  socket: string;
  deletedHosts: string[];
  close(): Promise<void>;
}

/** Answers GET /v1/health and DELETE /v1/hosts/:name (unknown hosts → HOST_NOT_FOUND). */
export async function startFakeController(socket: string, knownHosts: string[]): Promise<FakeController> {
  const deletedHosts: string[] = [];
  const server = http.createServer((req, res) => {
    const host = /^\/v1\/hosts\/([^/]+)$/.exec(req.url ?? '')?.[1];
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/health') return reply(200, { ok: true, role: 'controller', revision: 1, version: 'test' });
    if (req.method === 'DELETE' && host && knownHosts.includes(host)) {
      deletedHosts.push(host);
      return reply(204);
    }
    if (req.method === 'DELETE' && host) return reply(404, { error: { code: 'HOST_NOT_FOUND', message: `no host ${host}` } });
    reply(404, { error: { code: 'BAD_REQUEST', message: 'no route' } });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, deletedHosts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
