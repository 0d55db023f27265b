/**
 * The cluster lab's plan and bookkeeping without starting anything: what the members and
 * replicas are given, how `down` recognises them by command line (only this lab's, never
 * another's), how `lab ls` lists them, and the flags it refuses. The processes themselves
 * run in test/e2e/cluster-*.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { planCluster } from './cluster.js';
import { resolveConfig } from './config.js';
import { controllersAddress, isLabController } from './controllers.js';
import { ETCD_BINARY, isLabEtcd } from './etcd.js';
import { labProcesses } from './processes.js';
import type { LabState } from './state.js';

const c = resolveConfig({ prefix: 'tq', runDir: '/tmp/tenet-cluster-unit' });
const noEtcd = existsSync(ETCD_BINARY) ? false : `${ETCD_BINARY} is not installed`;

test('the plan: 3 members on distinct loopback ports, replicas on the lab etcd with their own socket and data dir', { skip: noEtcd }, async () => {
  const p = await planCluster(c, 2);
  assert.deepEqual(p.etcd.map((m) => m.name), ['e1', 'e2', 'e3']);
  const ports = p.etcd.flatMap((m) => [m.clientUrl, m.peerUrl]).map((u) => new URL(u).port);
  assert.equal(new Set(ports).size, 6, 'every client and peer port differs');
  assert.equal(p.store, `etcd://${p.etcd.map((m) => new URL(m.clientUrl).host).join(',')}`);
  assert.deepEqual(p.controllers.map((x) => x.name), ['c1', 'c2']);
  for (const x of p.controllers) {
    assert.ok(x.argv.join(' ').includes(`controller --store ${p.store} --data-dir ${x.dataDir} --socket ${x.socket}`), x.argv.join(' '));
    assert.ok(isLabController(x.argv.join(' '), c), 'down recognises the replica by its command line');
  }
  for (const m of p.etcd) assert.ok(isLabEtcd(m.argv.join(' '), c), 'down recognises the member by its command line');
  assert.equal(controllersAddress(p.controllers), `unix:${c.labDir}/tq-c1.sock,unix:${c.labDir}/tq-c2.sock`);
});

test("another lab's members and replicas are never this lab's", () => {
  const other = resolveConfig({ prefix: 'tqx', runDir: '/tmp/tenet-cluster-unit' });
  assert.equal(isLabEtcd(`${ETCD_BINARY} --name e1 --data-dir ${other.labDir}/tqx-e1.etcd --listen-client-urls x`, c), false);
  assert.equal(isLabController(`node tenet.js controller --data-dir ${other.labDir}/tqx-c1.data --socket s`, c), false);
  assert.equal(isLabEtcd(`/bin/sh -c ${ETCD_BINARY} --data-dir ${c.labDir}/tq-e1.etcd`, c), false, 'a shell naming it is not the member');
});

test('refuses 0 or too many controllers before anything starts', async () => {
  await assert.rejects(planCluster(c, 0), /cannot start 0 controllers/);
  await assert.rejects(planCluster(c, 9), /cannot start 9 controllers/);
});

test('lab ls lists members and replicas as etcd and controller processes', () => {
  const state: LabState = {
    version: 1, prefix: 'tq', controllerSocket: '/x', underlayNs: 'tq-ul', underlayCidr: '10.99.0.0/24', createdAt: '', hosts: [], containers: [],
    cluster: {
      store: 'etcd://127.0.0.1:1',
      etcd: [{ name: 'e1', argv: [], dataDir: '/d', log: '/l/e1', clientUrl: 'http://127.0.0.1:1', peerUrl: 'http://127.0.0.1:2', pid: 2 ** 22 + 7 }],
      controllers: [{ name: 'c1', argv: [], dataDir: '/d', log: '/l/c1', socket: '/s', url: 'https://127.0.0.1:3' }],
    },
  };
  assert.deepEqual(labProcesses(state, c), [
    { name: 'etcd e1', kind: 'etcd', pid: 2 ** 22 + 7, alive: false, log: '/l/e1' },
    { name: 'controller c1', kind: 'controller', pid: undefined, alive: false, log: '/l/c1' },
  ]);
});
