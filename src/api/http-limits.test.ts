/**
 * HTTP robustness of both servers (issue #5): a slowly sent body is cut by the request
 * timeout while a watch-shaped stream (a long GET, no body) outlives it on the same server;
 * a body nested 20,000 deep, a 900 KB name and a 200 KB name each get one short 400 from the
 * controller and from the agent, never a 500 or an echo of the input.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Agent } from '../agent/agent.js';
import { buildAgentApp } from '../agent/api.js';
import { silentLogger } from '../base/logger.js';
import { testApp } from '../controller/testing.js';
import { installErrorHandler } from './http-errors.js';
import { DEFAULT_LIMITS, serverOptions } from './server-options.js';

const deep = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function apps() {
  const controller = await testApp();
  const agent = buildAgentApp({} as Agent, silentLogger, 'test');
  return [
    { name: 'controller', app: controller.app, url: '/v1/tenants', body: (name: string) => `{"name":${name}}` },
    { name: 'agent', app: agent, url: '/v1/endpoints', body: (name: string) => `{"tenant":${name},"network":"n","netns":"x"}` },
  ];
}

test('both apps run with the shared limits', async () => {
  for (const { name, app } of await apps()) {
    assert.equal(app.server.requestTimeout, DEFAULT_LIMITS.requestTimeoutMs, name);
    assert.equal(app.server.headersTimeout, DEFAULT_LIMITS.requestTimeoutMs, name);
    assert.equal(app.initialConfig.connectionTimeout, DEFAULT_LIMITS.connectionTimeoutMs, name);
    assert.equal(app.initialConfig.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeoutMs, name);
    assert.equal(app.initialConfig.bodyLimit, DEFAULT_LIMITS.bodyLimitBytes, name);
    await app.close();
  }
});

test('hostile bodies get one short 400 from both apps', async () => {
  for (const { name, app, url, body } of await apps()) {
    const cases = [
      { what: 'nested 20,000 deep', payload: body(deep(20_000)), pattern: /nested more than 32 levels/ },
      { what: '900 KB name', payload: body(JSON.stringify('x'.repeat(900_000))), pattern: /too large/ },
      { what: '200 KB name', payload: body(JSON.stringify('X'.repeat(200_000))), pattern: /field body\/(name|tenant) must be at most 253 characters/ },
      { what: 'object as name', payload: body(deep(20)), pattern: /field body\/(name|tenant) must be a string/ },
    ];
    for (const c of cases) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: c.payload });
      assert.equal(res.statusCode, 400, `${name}, ${c.what}: ${res.body.slice(0, 200)}`);
      assert.ok(res.body.length < 600, `${name}, ${c.what}: the answer is short (${res.body.length})`);
      assert.match(res.json().error.message, c.pattern, `${name}, ${c.what}`);
    }
    const fine = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body(deep(3)) });
    assert.equal(fine.statusCode, 400, 'positive control: a shallow object reaches the validator');
    assert.match(fine.json().error.message, /field body\/(name|tenant) must be a string/);
    await app.close();
  }
});

test('a slow body is cut by the request timeout; a long watch-like GET is not', async (t) => {
  const app = Fastify({ logger: false, ...serverOptions({ requestTimeoutMs: 300, checkIntervalMs: 50 }) });
  installErrorHandler(app, silentLogger);
  app.get('/stream', async (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const timer = setInterval(() => reply.raw.write('{"type":"bookmark"}\n'), 50);
    reply.raw.on('close', () => clearInterval(timer));
  });
  app.post('/echo', async (req) => req.body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const port = (app.server.address() as net.AddressInfo).port;

  const watch = connect(port, 'GET /stream HTTP/1.1\r\nhost: t\r\n\r\n');
  const slow = connect(port, 'POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":');
  for (let i = 0; i < 200 && !slow.closed; i++) await sleep(50);
  assert.ok(slow.closed, 'the slow request was closed');
  assert.match(slow.text(), /^HTTP\/1.1 408/, 'with 408 Request Timeout');
  const before = watch.bytes();
  for (let i = 0; i < 200 && watch.bytes() === before; i++) await sleep(20);
  assert.ok(!watch.closed && watch.bytes() > before, 'the stream, older than the request timeout, still flows');

  const quick = connect(port, 'POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{"a":1}');
  for (let i = 0; i < 200 && !quick.closed; i++) await sleep(20);
  assert.match(quick.text(), /^HTTP\/1.1 200[\s\S]*\{"a":1\}$/, 'positive control: a prompt body is answered');
  watch.socket.destroy();
});

function connect(port: number, request: string) {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const state = { socket, closed: false, bytes: () => chunks.reduce((n, c) => n + c.length, 0), text: () => Buffer.concat(chunks).toString() };
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => undefined);
  socket.write(request);
  return state;
}
