/**
 * Test support for the controller's TCP API (auth.test.ts, docker-access.test.ts): a CA and
 * an admin token in a temporary data dir, controller apps over a MemoryStore reached through
 * app.inject with the same hooks as https, and a host joined with a join token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { sha256Hex } from '../api/credentials.js';
import { buildControllerApp } from '../controller/app.js';
import { recordingLogger } from '../controller/testing.js';
import { MemoryStore } from '../store/memory.js';
import { ensureAdminToken } from './secrets.js';
import { ensureControllerTls, type ControllerTls } from './tls.js';

export type Call = (method: string, url: string, body?: unknown, token?: string) => Promise<{ status: number; body: any }>;

export interface TcpFixture {
  readonly tls: ControllerTls;
  readonly admin: { token: string; secret: string };
  /** A controller app as served over TCP (TLS, bearer tokens) on a fresh MemoryStore. */
  tcpApp(): Promise<{ call: Call; store: MemoryStore; close(): Promise<void> }>;
  /** An admin-made tenant acme, network web and join token; answers the host credential of `host`. */
  joinedHost(call: Call, host?: string): Promise<string>;
}

/** Makes the CA and admin token before the file's tests and removes them after. */
export function tcpFixture(): TcpFixture {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-auth-'));
  let tls: ControllerTls | undefined;
  let admin: { token: string; secret: string } | undefined;
  before(() => {
    tls = ensureControllerTls(dir, '127.0.0.1', [], recordingLogger([]));
    admin = ensureAdminToken(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fixture: TcpFixture = {
    get tls() {
      return tls!;
    },
    get admin() {
      return admin!;
    },
    tcpApp: async () => {
      const store = new MemoryStore();
      const auth = { transport: 'tcp' as const, adminTokenHash: sha256Hex(fixture.admin.secret), caPem: fixture.tls.caPem, caHash: fixture.tls.caHash };
      const app = await buildControllerApp({ store, logger: recordingLogger([]), version: 'test', auth, tls: fixture.tls });
      const call: Call = async (method, url, body, token) => {
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          ...(body === undefined ? {} : { payload: body as object }),
        });
        return { status: res.statusCode, body: String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(res.body) : res.body };
      };
      return { call, store, close: () => app.close() };
    },
    joinedHost: async (call, host = 'h1') => {
      const token = fixture.admin.token;
      assert.equal((await call('POST', '/v1/tenants', { name: 'acme' }, token)).status, 201);
      assert.equal((await call('POST', '/v1/tenants/acme/networks', { name: 'web', subnet: '10.0.0.0/24' }, token)).status, 201);
      const created = await call('POST', '/v1/tokens', { kind: 'agent' }, token);
      assert.equal(created.status, 201);
      const joined = await call('POST', '/v1/join', { token: created.body.token.split('.').slice(2).join('.'), host });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      return joined.body.credential as string;
    },
  };
  return fixture;
}
