/**
 * Attaches whose controller answer was lost after the write was applied (claims.ts): the
 * caller gets an error, so the endpoint must not stay `pending` holding its address. Two ways
 * the answer is lost, each made the way the real parts make it:
 * - STORE_UNAVAILABLE: the store applies the txn, then fails the call with the very error the
 *   etcd store raises when its deadline passes (`unavailable` from etcd-codec.ts);
 * - CONTROLLER_UNREACHABLE: a unix-socket proxy passes the request to the real controller app
 *   and cuts the connection instead of passing its answer back, so the agent's real
 *   ControllerClient (the transport) decides what the caller sees.
 * Each case checks the error first (the fake matches the real client's behaviour), then that
 * the endpoint existed, was not reported `up`, and is rolled back after the claim window;
 * a retry with the same key inside the window completes it instead (the positive control).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ControllerClient } from '../api/client.js';
import { waitFor } from '../base/async.js';
import { silentLogger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import { Datapath } from '../datapath/datapath.js';
import { FakeKernel } from '../datapath/testing/fake-kernel.js';
import { fakeOwnership } from '../datapath/testing/ownership.js';
import { TenetError } from '../model/errors.js';
import { unavailable } from '../store/etcd-codec.js';
import { MemoryStore } from '../store/memory.js';
import type { Compare, Op, WriteResult } from '../store/types.js';
import { Agent } from './agent.js';
import { attach, idFromKey } from './attach.js';
import { mayHaveApplied, UnfinishedAttaches } from './claims.js';
import type { Endpoint } from '../model/types.js';
import { fakeNamespaces } from './testing/fake-namespaces.js';

/** A store that applies the next txn writing `dropKeyPart`, then fails the call as etcd's deadline does. */
class AnswerLosingStore extends MemoryStore {
  dropKeyPart?: string;
  override async txn(compares: Compare[], ops: Op[]): Promise<WriteResult> {
    const drop = this.dropKeyPart !== undefined && ops.some((o) => o.key.includes(this.dropKeyPart!));
    const result = await super.txn(compares, ops);
    if (!drop) return result;
    this.dropKeyPart = undefined;
    throw unavailable(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), 'a write');
  }
}

/** A proxy to the controller's socket; the request naming `dropNext`'s text is forwarded, and its answer cut off. */
function answerDroppingProxy(target: string, path: string): { server: Server; dropNext: (part: string) => void } {
  let dropPart: string | undefined;
  const server = createServer((client) => {
    const upstream = createConnection(target);
    let dropping = false;
    client.on('data', (chunk) => {
      if (dropPart !== undefined && chunk.toString('latin1').includes(dropPart)) {
        dropPart = undefined;
        dropping = true;
      }
      upstream.write(chunk);
    });
    // Once the controller answers the marked request, its answer is lost with the connection.
    upstream.on('data', (chunk) => (dropping ? client.destroy() : client.write(chunk)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  server.listen(path);
  return { server, dropNext: (part) => (dropPart = part) };
}

const dir = mkdtempSync(join(tmpdir(), 'tenet-claims-'));
const socket = join(dir, 'c.sock');
const proxySocket = join(dir, 'p.sock');
const store = new AnswerLosingStore();
const k = new FakeKernel();
const admin = new ControllerClient(`unix:${socket}`);
let app: FastifyInstance;
let proxy: ReturnType<typeof answerDroppingProxy>;
const agents: Agent[] = [];
const clients: ControllerClient[] = [admin];
const WINDOW_MS = 2_000;

async function startAgent(address: string, host: string): Promise<Agent> {
  const controller = new ControllerClient(address);
  clients.push(controller);
  const agent = new Agent({
    host,
    nsPrefix: `cl${host}-`,
    underlay: { name: 'default', vtep: `10.0.0.${agents.length + 1}`, mtu: 1500 },
    controller,
    datapath: new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }),
    logger: silentLogger,
    claimWindowMs: WINDOW_MS,
    namespaces: fakeNamespaces(k),
  });
  agents.push(agent);
  await agent.start();
  await waitFor(() => agent.reconciles.full >= 1 || undefined, 10_000, 'the first full reconcile');
  return agent;
}

let n = 0;
function workload(): string {
  const path = join(dir, `w${n++}`);
  writeFileSync(path, '');
  k.addWorkload(path);
  return path;
}

const idFor = (key: string) => idFromKey(key)!;
const absent = async (id: string) => ((await admin.listEndpoints()).some((e) => e.id === id) ? undefined : true);

describe('attaches whose answer was lost', () => {
  before(async () => {
    app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 100 });
    await app.listen({ path: socket });
    proxy = answerDroppingProxy(socket, proxySocket);
    await admin.createTenant('acme');
    await admin.createNetwork('acme', { name: 'red', subnet: '10.9.0.0/24' });
  });
  after(async () => {
    for (const a of agents) a.stop();
    for (const cl of clients) cl.close();
    proxy.server.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('STORE_UNAVAILABLE after the create was applied: the endpoint is rolled back after the window, a retry in it completes', async () => {
    const agent = await startAgent(`unix:${socket}`, 'h1');
    for (const key of ['lost-s1', 'lost-s2']) {
      store.dropKeyPart = idFor(key);
      const err = await attach(agent, { tenant: 'acme', network: 'red', netns: workload(), idempotencyKey: key }, silentLogger).then(
        () => assert.fail('the attach answered'),
        (e: TenetError) => e,
      );
      assert.equal(err.code, 'STORE_UNAVAILABLE', 'what the real controller answers when its store lost the answer');
      assert.ok(mayHaveApplied(err));
      assert.equal((await admin.getEndpoint(idFor(key))).status, 'pending', 'the write was applied');
    }
    assert.deepEqual(agent.claims.waiting.sort(), [idFor('lost-s1'), idFor('lost-s2')].sort());
    const path = (await admin.getEndpoint(idFor('lost-s1'))).attachment;
    assert.ok(path?.kind === 'netns');
    const retried = await attach(agent, { tenant: 'acme', network: 'red', netns: path.netns, idempotencyKey: 'lost-s1' }, silentLogger);
    assert.deepEqual([retried.id, retried.status], [idFor('lost-s1'), 'up'], 'positive control: a retry in the window completes it');
    assert.equal((await admin.getEndpoint(idFor('lost-s2'))).status, 'pending', 'never reported up while it waits for its caller');
    await waitFor(() => absent(idFor('lost-s2')), 20_000, 'the unclaimed attach to be rolled back');
    assert.equal((await admin.getEndpoint(idFor('lost-s1'))).status, 'up', 'the claimed one stays');
    assert.deepEqual(agent.claims.waiting, []);
    await agent.removeEndpoint(retried, 'test');
  });

  it('CONTROLLER_UNREACHABLE after the request left: the real client says so, and the endpoint is rolled back after the window', async () => {
    const agent = await startAgent(`unix:${proxySocket}`, 'h2');
    const control = await attach(agent, { tenant: 'acme', network: 'red', netns: workload() }, silentLogger);
    assert.equal(control.status, 'up', 'positive control: attaches through the proxy work');
    proxy.dropNext(idFor('lost-u1'));
    const err = await attach(agent, { tenant: 'acme', network: 'red', netns: workload(), idempotencyKey: 'lost-u1' }, silentLogger).then(
      () => assert.fail('the attach answered'),
      (e: TenetError) => e,
    );
    assert.equal(err.code, 'CONTROLLER_UNREACHABLE', String(err));
    assert.ok(mayHaveApplied(err));
    const made = await admin.getEndpoint(idFor('lost-u1'));
    assert.equal(made.status, 'pending', 'the controller applied it');
    await waitFor(() => absent(made.id), 20_000, 'the attach whose answer was lost to be rolled back');
    assert.equal((await admin.getEndpoint(control.id)).status, 'up', 'the control is untouched');
    const ips = (await admin.listEndpoints()).map((e) => e.ip);
    assert.ok(!ips.includes(made.ip), 'its address is released');
    await agent.removeEndpoint(control, 'test');
  });

  it('a rollback the controller refused (it was away) is tried again after another window', async () => {
    const ep = { id: 'e1', host: 'h9', status: 'pending', attachment: { kind: 'handoff' }, createdAt: 't', updatedAt: 't' } as unknown as Endpoint;
    const removed: string[] = [];
    let refusals = 1;
    const actions = {
      lookup: async () => ep,
      detach: async () => assert.fail('a created endpoint is removed, not detached'),
      remove: async (e: Endpoint) => {
        if (refusals-- > 0) throw new TenetError('CONTROLLER_UNREACHABLE', 'cannot reach unix:/x');
        removed.push(e.id);
      },
    };
    const claims = new UnfinishedAttaches(actions, silentLogger, 50);
    await assert.rejects(claims.attaching('e1', async () => Promise.reject(new TenetError('STORE_UNAVAILABLE', 'deadline'))));
    assert.equal(claims.reportable('e1'), false, 'not reported up while it waits');
    await waitFor(() => (removed.length ? true : undefined), 10_000, 'the second rollback');
    assert.deepEqual([removed, refusals], [['e1'], -1], 'refused once, then removed');
    // Positive control: a definite refusal leaves nothing to weigh.
    await assert.rejects(claims.attaching('e2', async () => Promise.reject(new TenetError('IDEMPOTENCY_KEY_REUSED', 'x'))));
    assert.deepEqual([claims.waiting, claims.reportable('e2')], [[], true]);
    claims.stop();
  });

  it('a definite refusal is not weighed again: nothing was applied', () => {
    assert.equal(mayHaveApplied(new TenetError('IDEMPOTENCY_KEY_REUSED', 'x')), false);
    assert.equal(mayHaveApplied(new TenetError('STORE_UNAVAILABLE', 'x')), true);
    assert.equal(mayHaveApplied(new Error('socket hang up')), true);
  });
});
