/** Test helpers for the controller: an app over a MemoryStore, requests via inject, a recording logger. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../base/logger.js';
import type { ErrorCode } from '../model/errors.js';
import { CATALOG } from '../model/errors.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { buildControllerApp } from './app.js';

export interface LogLine {
  level: string;
  msg?: string;
  fields: Record<string, unknown>;
}

export function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg, fields: { ...bindings, ...obj } });
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  logs: LogLine[];
  call<T = any>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function testApp(opts: { store?: Store; bookmarkMs?: number; hostLeaseMs?: number; watchBufferBytes?: number } = {}): Promise<TestApp> {
  const store = opts.store ?? new MemoryStore();
  const logs: LogLine[] = [];
  const app = await buildControllerApp({ store, logger: recordingLogger(logs), version: 'test', bookmarkMs: opts.bookmarkMs, hostLeaseMs: opts.hostLeaseMs, watchBufferBytes: opts.watchBufferBytes });
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await app.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  return { app, store, logs, call };
}

/** Asserts a catalogued error answer, and returns its message for further checks. */
export function assertError(res: { status: number; body: any }, code: ErrorCode): string {
  assert.equal(res.body?.error?.code, code, `expected ${code}, got ${JSON.stringify(res.body)}`);
  assert.equal(res.status, CATALOG[code].status);
  return res.body.error.message as string;
}

/** A tenant, a network and a registered host: the usual starting point of endpoint tests. */
export async function seed(t: TestApp, subnet = '10.0.0.0/24'): Promise<void> {
  assert.equal((await t.call('POST', '/v1/tenants', { name: 'acme' })).status, 201);
  assert.equal((await t.call('POST', '/v1/tenants/acme/networks', { name: 'web', subnet })).status, 201);
  assert.equal((await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 })).status, 201);
}

export const EP_URL = '/v1/tenants/acme/networks/web/endpoints';

let nextIno = 1;
/** A netns attachment as an agent sends it (each with its own namespace identity). */
export function att(netns: string, ifname = 'eth0'): { kind: 'netns'; netns: string; netnsId: { dev: number; ino: number }; ifname: string } {
  return { kind: 'netns', netns, netnsId: { dev: 4, ino: 4026531000 + nextIno++ }, ifname };
}
