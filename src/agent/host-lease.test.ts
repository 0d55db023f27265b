/**
 * The agent's lease on a real controller app (memory store, short TTL) and the fake kernel:
 * keep-alives keep the host up; a lease the controller no longer holds (revoked, or lost
 * with a controller restarted on an empty memory store) makes the agent register again at
 * once and report its realized revision again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ControllerClient } from '../api/client.js';
import type { HostView } from '../api/types.js';
import { sleep, waitFor } from '../base/async.js';
import { silentLogger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import { Datapath } from '../datapath/datapath.js';
import { FakeKernel } from '../datapath/testing/fake-kernel.js';
import { fakeOwnership } from '../datapath/testing/ownership.js';
import { MemoryStore } from '../store/memory.js';
import { Agent } from './agent.js';
import { attach } from './attach.js';
import { HostLeaseKeeper } from './host-lease.js';
import { fakeNamespaces } from './testing/fake-namespaces.js';

const TTL = 600;
const dir = mkdtempSync(join(tmpdir(), 'tenet-lease-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function controllerOn(socket: string, store = new MemoryStore()): Promise<{ app: FastifyInstance; store: MemoryStore }> {
  const app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 100, hostLeaseMs: TTL });
  await app.listen({ path: socket });
  return { app, store };
}

function agentOn(controller: ControllerClient, k: FakeKernel, host = 'h1'): Agent {
  const namespaces = fakeNamespaces(k);
  return new Agent({
    host,
    nsPrefix: 'ul-',
    underlay: { name: 'default', vtep: '10.0.0.1', mtu: 1500 },
    controller,
    datapath: new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }),
    logger: silentLogger,
    namespaces,
  });
}

const hostOf = async (c: ControllerClient, name: string): Promise<HostView | undefined> => (await c.listHosts()).find((h) => h.name === name);

test('agent: keep-alives keep its host up; a revoked lease makes it register again and re-report its realized revision', async () => {
  const socket = join(dir, 'a.sock');
  const { app, store } = await controllerOn(socket);
  const controller = new ControllerClient(`unix:${socket}`);
  const agent = agentOn(controller, new FakeKernel());
  try {
    await agent.start();
    await controller.createTenant('acme'); // a change for the agent to realize and report
    await waitFor(async () => ((await hostOf(controller, 'h1'))?.realizedRevision ?? 0) > 0 || undefined, 5000, 'a realized report');
    const first = agent.liveness.lease!;
    await sleep(2 * TTL);
    assert.equal((await hostOf(controller, 'h1'))?.state, 'up', 'two TTLs later the host is still up: its agent keeps the lease alive');
    assert.equal(agent.liveness.registrations, 1, 'and it did not need to register again');
    await store.revoke(first.id);
    assert.equal((await hostOf(controller, 'h1'))?.state, 'down', 'positive control: without its lease the host is down');
    await waitFor(() => (agent.liveness.registrations >= 2 ? true : undefined), 5 * TTL, 'a new registration');
    const back = await hostOf(controller, 'h1');
    assert.equal(back?.state, 'up');
    assert.notEqual(agent.liveness.lease!.id, first.id);
    assert.ok((back?.realizedRevision ?? 0) > 0);
  } finally {
    agent.stop();
    controller.close();
    await app.close();
  }
});

test('agent lease: a controller restarted on an empty memory store is told about the host again', async () => {
  const socket = join(dir, 'b.sock');
  let running = await controllerOn(socket);
  const controller = new ControllerClient(`unix:${socket}`);
  const registration = () => ({ vtep: '10.0.0.2', underlayMtu: 1500 });
  let reported = 0;
  const keeper = new HostLeaseKeeper({ host: 'h2', controller, logger: silentLogger, registration, onRegistered: () => reported++ });
  try {
    await keeper.register();
    keeper.start();
    await running.app.close();
    running = await controllerOn(socket); // the memory store, and every lease, is gone
    const admin = new ControllerClient(`unix:${socket}`); // a fresh connection, not the dead one
    assert.deepEqual(await admin.listHosts(), [], 'the new controller knows no host');
    await waitFor(async () => ((await hostOf(admin, 'h2'))?.state === 'up' ? true : undefined), 5 * TTL, 'the host to be back up');
    assert.deepEqual([keeper.registrations, reported], [2, 2]);
    admin.close();
  } finally {
    keeper.stop();
    controller.close();
    await running.app.close();
  }
});

test('agent: an evicted host whose agent returns registers as new, and its agent removes the ports of the evicted endpoints', async () => {
  const socket = join(dir, 'c.sock');
  const { app } = await controllerOn(socket);
  const controller = new ControllerClient(`unix:${socket}`);
  const k = new FakeKernel();
  const agent = agentOn(controller, k, 'h3');
  try {
    await controller.createTenant('acme');
    await controller.createNetwork('acme', { name: 'red', subnet: '10.9.0.0/24' });
    await agent.start();
    await waitFor(() => agent.reconciles.full >= 1 || undefined, 5000, 'the first full reconcile');
    const path = join(dir, 'w-evict');
    writeFileSync(path, ''); // the datapath checks a workload's path exists on disk
    k.addWorkload(path);
    const empty = k.dump([path]);
    const ep = await attach(agent, { tenant: 'acme', network: 'red', netns: path }, silentLogger);
    assert.notEqual(k.dump([path]), empty, 'positive control: the port is in the workload');
    agent.liveness.stop(); // the agent is cut off from the controller: no keep-alives
    await waitFor(async () => ((await hostOf(controller, 'h3'))?.state === 'down' ? true : undefined), 5 * TTL, 'the host to go down');
    assert.equal((await controller.getEndpoint(ep.id)).host, 'h3', 'a down host keeps its endpoint');
    await controller.evictHost('h3');
    await waitFor(() => (k.dump([path]) === empty ? true : undefined), 5000, "the evicted endpoint's port to go");
    agent.liveness.start(); // the agent is back: its lease is gone, so it registers anew
    await waitFor(async () => ((await hostOf(controller, 'h3'))?.state === 'up' ? true : undefined), 5 * TTL, 'the host to be up again');
    assert.deepEqual([agent.liveness.registrations, (await controller.listEndpoints({ host: 'h3' })).length], [2, 0]);
  } finally {
    agent.stop();
    controller.close();
    await app.close();
  }
});
