/**
 * `tenet status` against a real controller app on a unix socket (MemoryStore): the table,
 * the -o json shape (GET /v1/status as is), and the exit code: 0 with a healthy store and a
 * leader, 1 with the reason on stderr when no leader is known or the store is unhealthy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ClusterStatus } from '../api/types.js';
import { buildControllerApp } from '../controller/app.js';
import { LeaderElection } from '../controller/leader.js';
import { recordingLogger } from '../controller/testing.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { buildProgram, runCli } from './program.js';

async function withController(store: Store, fn: (tenet: (...args: string[]) => Promise<{ code: number; out: string; err: string }>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-status-'));
  const app = await buildControllerApp({ store, logger: recordingLogger([]), version: 'test' });
  try {
    await app.listen({ path: join(dir, 'api.sock') });
    await fn(async (...args) => {
      let out = '';
      let err = '';
      const code = await runCli(['--api', `unix:${join(dir, 'api.sock')}`, ...args], buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }));
      return { code, out, err };
    });
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const record = { id: 'ctl-a', urls: ['https://127.0.0.1:7400', 'unix:/run/tenet/controller.sock'], version: '9.9.9', startedAt: new Date().toISOString() };

test('tenet status: a healthy store with a leader prints every section and exits 0; -o json is the API answer', async () => {
  const store = new MemoryStore();
  const election = new LeaderElection({ store, logger: recordingLogger([]), record, tasks: [], ttlMs: 2000 });
  await election.start();
  try {
    await withController(store, async (tenet) => {
      const table = await tenet('status');
      assert.equal(table.code, 0, table.err);
      assert.equal(table.err, '');
      assert.match(table.out, /^store: memory, healthy, revision \d+\nMEMBER\s+ENDPOINT\s+HEALTHY\s+LEADER\s+ERROR\nmemory\s+memory:\s+yes\s+yes\s+-\n/);
      assert.match(table.out, /\ncontrollers: 1, leader: ctl-a\nCONTROLLER\s+LEADER\s+VERSION\s+STARTED\s+URLS\nctl-a\s+yes\s+9\.9\.9\s+\d+s ago\s+https:\/\/127\.0\.0\.1:7400,unix:\/run\/tenet\/controller\.sock\n/);
      assert.match(table.out, /\nhosts: 0 up, 0 down\n/);
      assert.match(table.out, /\nnot realized everywhere: 0 endpoints, 0 policies\n$/);
      const json = await tenet('status', '-o', 'json');
      assert.equal(json.code, 0, json.err);
      const s = JSON.parse(json.out) as ClusterStatus;
      assert.deepEqual(Object.keys(s).sort(), ['controllers', 'hosts', 'leader', 'store', 'unrealized']);
      assert.deepEqual([s.store.backend, s.store.healthy, s.leader, s.controllers], ['memory', true, 'ctl-a', [{ ...record, leader: true }]]);
      assert.deepEqual([s.hosts, s.unrealized], [{ up: 0, down: 0, downNames: [] }, { endpoints: 0, policies: 0, first: [] }]);
    });
  } finally {
    await election.stop();
    await store.close();
  }
});

test('tenet status: no leader known exits 1 with the reason on stderr, after printing the status', async () => {
  const store = new MemoryStore();
  await withController(store, async (tenet) => {
    const r = await tenet('status', '-o', 'json');
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.out) as ClusterStatus).leader, undefined);
    assert.match(r.err, /^tenet: no controller is leader .*\n$/);
  });
  await store.close();
});

test('tenet status: an unhealthy store exits 1 and says so in one line', async () => {
  const inner = new MemoryStore();
  const sick = new Proxy(inner, {
    get: (target, prop) =>
      prop === 'status'
        ? async () => ({ backend: 'etcd', healthy: false, revision: 7, members: [{ name: 'm1', endpoint: 'http://127.0.0.1:2379', healthy: false, leader: false, error: 'connection refused' }], error: 'quorum lost' })
        : Reflect.get(target, prop),
  }) as Store;
  await withController(sick, async (tenet) => {
    const r = await tenet('status');
    assert.equal(r.code, 1);
    assert.match(r.out, /^store: etcd, UNHEALTHY \(quorum lost\), revision 7\n/);
    assert.match(r.out, /\nm1\s+http:\/\/127\.0\.0\.1:2379\s+no\s+no\s+connection refused\n/);
    assert.equal(r.err, 'tenet: the etcd store is unhealthy: quorum lost\n');
  });
  await inner.close();
});

test('tenet status --help says when it exits non-zero', async () => {
  let out = '';
  const code = await runCli(['status', '--help'], buildProgram({ out: (t) => (out += t), err: () => undefined }));
  assert.equal(code, 0);
  assert.match(out.replace(/\s+/g, ' '), /exits 1 when the store is unhealthy or no leader is known/);
});
