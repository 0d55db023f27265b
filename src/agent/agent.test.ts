/**
 * The agent on the fake kernel (no root): a real controller app over a MemoryStore on a unix
 * socket, a FakeKernel behind the Datapath, and fake workload namespaces whose identity is
 * the fake kernel's object (fakeIdentity). Covers what needs the agent's own logic: attach
 * rollback, idempotency keys, rollback of attaches an earlier run never completed, GC of an
 * endpoint whose namespace was replaced, tombstones, status de-duplication, debouncing of a
 * burst of watch events, and a namespace whose identity cannot be read (never entered).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { fakeIdentity, fakeOwnership } from '../datapath/testing/ownership.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import { MemoryStore } from '../store/memory.js';
import { Agent } from './agent.js';
import { attach, attachExisting, idFromKey } from './attach.js';
import { fakeNamespaces } from './testing/fake-namespaces.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-agent-'));
const socket = join(dir, 'c.sock');
const store = new MemoryStore();
let app: FastifyInstance;
const clients: ControllerClient[] = [];
const k = new FakeKernel();
const agents: Agent[] = [];

/** Paths whose identity read fails as an EACCES would (item 4 of issue #5). */
const unreadable = new Set<string>();

async function startAgent(claimWindowMs = 60_000, datapath?: Datapath): Promise<Agent> {
  const controller = new ControllerClient(`unix:${socket}`);
  clients.push(controller);
  const agent = new Agent({
    host: 'h1',
    nsPrefix: 'ut-',
    underlay: { name: 'default', vtep: '10.0.0.1', mtu: 1500 },
    controller,
    datapath: datapath ?? new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }),
    logger: silentLogger,
    claimWindowMs,
    namespaces: fakeNamespaces(k, unreadable),
  });
  agents.push(agent);
  await agent.start();
  await waitFor(() => agent.reconciles.full >= 1 || undefined, 5000, 'the first full reconcile');
  return agent;
}

const c = () => clients[0]!;
let n = 0;
function workload(): string {
  const path = join(dir, `w${n++}`); // the datapath checks a workload's path exists on disk
  writeFileSync(path, '');
  k.addWorkload(path);
  return path;
}

describe('agent on the fake kernel', () => {
  before(async () => {
    app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 100 });
    await app.listen({ path: socket });
    clients.push(new ControllerClient(`unix:${socket}`));
    await c().createTenant('acme');
    await c().createNetwork('acme', { name: 'red', subnet: '10.9.0.0/24' });
  });
  after(async () => {
    for (const a of agents) a.stop();
    for (const cl of clients) cl.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolls back an attach whose port the kernel refuses: no endpoint, nothing in the kernel', async () => {
    const agent = await startAgent();
    const path = workload();
    const control = workload();
    const before = k.dump();
    k.failNext(`nsenter --net=${path}`, `nsenter: cannot open ${path}: No such file or directory`);
    await assert.rejects(attach(agent, { tenant: 'acme', network: 'red', netns: path }, silentLogger));
    assert.deepEqual(await c().listEndpoints(), [], 'no endpoint left');
    const ok = await attach(agent, { tenant: 'acme', network: 'red', netns: control }, silentLogger); // positive control
    assert.equal(ok.status, 'up');
    await agent.removeEndpoint(ok, 'test');
    assert.equal(k.dump(), before, 'the kernel is as it was');
    agent.stop();
  });

  it('answers a retry with the same key with the same endpoint; another request with that key is refused', async () => {
    const agent = await startAgent();
    const path = workload();
    const req = { tenant: 'acme', network: 'red', netns: path, idempotencyKey: 'k-1' };
    const first = await attach(agent, req, silentLogger);
    const again = await attach(agent, req, silentLogger);
    assert.deepEqual([again.id, again.ip, again.status], [first.id, first.ip, 'up']);
    await assert.rejects(attach(agent, { ...req, netns: workload() }, silentLogger), (e: TenetError) => e.code === 'IDEMPOTENCY_KEY_REUSED');
    await agent.removeEndpoint(first, 'test');
    agent.stop();
  });

  it('rolls back attaches an earlier run never completed, unless retried with their key', async () => {
    // An agent "killed" between the controller's create and its realization: endpoints pending.
    const ids = ['a', 'b'].map((key) => ({ key, path: workload() }));
    const made: Endpoint[] = [];
    for (const { key, path } of ids) {
      const idempotencyKey = `crash-${key}`;
      made.push(await c().createEndpoint('acme', 'red', { host: 'h1', id: idFor(idempotencyKey), attachment: { kind: 'netns', netns: path, netnsId: fakeIdentity(k, path)!.identity, ifname: 'eth0' } }));
    }
    const agent = await startAgent(3_000); // a claim window the loaded machine's start and the retry fit in
    assert.deepEqual(agent.claims.waiting.sort(), made.map((e) => e.id).sort());
    assert.equal((await c().getEndpoint(made[0]!.id)).status, 'pending', 'not reported up while unclaimed');
    const retried = await attach(agent, { tenant: 'acme', network: 'red', netns: ids[0]!.path, idempotencyKey: 'crash-a' }, silentLogger);
    assert.deepEqual([retried.id, retried.ip, retried.status], [made[0]!.id, made[0]!.ip, 'up']);
    await waitFor(async () => ((await c().listEndpoints()).length === 1 ? true : undefined), 15_000, 'the unclaimed attach to be rolled back');
    assert.deepEqual((await c().listEndpoints()).map((e) => e.id), [made[0]!.id]);
    await agent.removeEndpoint(retried, 'test');
    agent.stop();
  });

  it("another attach's reconcile never writes `up` for an attach still running: only its own does, before it answers", async () => {
    // Killed between the two, the agent must leave B pending (rolled back unless retried), not complete.
    const gated = new GatedDatapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) });
    const agent = await startAgent(60_000, gated);
    let releaseA!: () => void;
    gated.gate = new Promise((r) => (releaseA = r));
    const a = attach(agent, { tenant: 'acme', network: 'red', netns: workload(), idempotencyKey: 'queued-a' }, silentLogger);
    await waitFor(() => gated.waiting || undefined, 5000, "A's reconcile to be held");
    const b = attach(agent, { tenant: 'acme', network: 'red', netns: workload(), idempotencyKey: 'queued-b' }, silentLogger);
    await waitFor(() => agent.cache.endpoints.get(idFor('queued-b')), 5000, "B's endpoint to be committed, its reconcile queued behind A's");
    let releaseB!: () => void;
    gated.gate = new Promise((r) => (releaseB = r));
    releaseA();
    const first = await a;
    assert.equal(first.status, 'up', "positive control: A's own reconcile wrote its status");
    await waitFor(() => gated.waiting || undefined, 5000, 'the next reconcile to be held');
    assert.equal((await c().getEndpoint(idFor('queued-b'))).status, 'pending', "A's reconcile realized B but must not complete it");
    gated.gate = undefined;
    releaseB();
    const second = await b;
    assert.equal(second.status, 'up');
    assert.equal((await c().getEndpoint(second.id)).status, 'up', 'written before B answered');
    for (const e of [first, second]) await agent.removeEndpoint(e, 'test');
    agent.stop();
  });

  it('never touches a namespace that replaced the attached one, and removes the endpoint', async () => {
    const agent = await startAgent();
    const path = workload();
    const ep = await attach(agent, { tenant: 'acme', network: 'red', netns: path }, silentLogger);
    agent.stop();
    k.namespaces.delete(path); // the workload died; a stranger's namespace now has the path
    k.addWorkload(path);
    const stranger = k.dump([path]);
    const restarted = await startAgent();
    await waitFor(async () => ((await c().listEndpoints()).some((e) => e.id === ep.id) ? undefined : true), 5000, 'the endpoint to be collected');
    assert.equal(k.dump([path]), stranger, "the stranger's namespace is untouched");
    const control = await attach(restarted, { tenant: 'acme', network: 'red', netns: workload() }, silentLogger); // positive control
    assert.equal(control.status, 'up');
    await restarted.removeEndpoint(control, 'test');
    restarted.stop();
  });

  it('a burst of watch events while a reconcile runs makes one more reconcile, not one per event', async () => {
    const gated = new GatedDatapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) });
    const agent = await startAgent(60_000, gated);
    const paths = Array.from({ length: 30 }, () => workload());
    let release!: () => void;
    gated.gate = new Promise((r) => (release = r));
    const blocked = agent.reconcileTenants(new Set(['acme']));
    await waitFor(() => gated.waiting || undefined, 5000, 'the reconcile to be held');
    gated.gate = undefined;
    const before = gated.calls;
    const attachment = (p: string) => ({ kind: 'netns' as const, netns: p, netnsId: fakeIdentity(k, p)!.identity, ifname: 'eth0' });
    const made: Endpoint[] = [];
    for (const p of paths) made.push(await c().createEndpoint('acme', 'red', { host: 'h1', attachment: attachment(p) })); // one event at a time
    await waitFor(() => made.every((e) => agent.cache.endpoints.has(e.id)) || undefined, 5000, 'the burst to reach the cache');
    release();
    await blocked;
    const up = async () => (await c().listEndpoints()).filter((e) => made.some((m) => m.id === e.id) && e.status === 'up').length;
    await waitFor(async () => ((await up()) === made.length ? true : undefined), 5000, 'every endpoint of the burst to be up');
    const reconciles = gated.calls - before;
    assert.ok(reconciles >= 1, 'positive control: the burst was reconciled');
    assert.ok(reconciles <= 2, `${made.length} events made ${reconciles} reconciles`);
    for (const e of made) await agent.removeEndpoint(e, 'test');
    agent.stop();
  });

  it('never enters a namespace whose identity cannot be read: the endpoint stays, untouched, in error; readable again, it is repaired', async () => {
    const agent = await startAgent();
    const path = workload();
    const ep = await attach(agent, { tenant: 'acme', network: 'red', netns: path }, silentLogger);
    agent.stop();
    await k.run(['nsenter', `--net=${path}`, 'ip', '-batch', '-'], { input: 'addr flush dev eth0\n' }); // drift the reconcile would repair
    const drifted = k.dump([path]);
    const tenantSide = () => k.dump(['ut-acme']);
    const port = tenantSide();
    unreadable.add(path);
    const blind = await startAgent();
    await waitFor(async () => ((await c().getEndpoint(ep.id)).status === 'error' ? true : undefined), 5000, 'the error status');
    assert.match((await c().getEndpoint(ep.id)).statusDetail ?? '', /cannot be confirmed .*permission denied.*not touched/);
    assert.equal(k.dump([path]), drifted, 'the namespace was not entered');
    assert.equal(tenantSide(), port, 'the tenant side (and the workload interface with it) is kept');
    blind.stop();
    unreadable.delete(path);
    const sighted = await startAgent(); // positive control: the same drift is repaired once readable
    await waitFor(async () => ((await c().getEndpoint(ep.id)).status === 'up' ? true : undefined), 5000, 'the status back up');
    assert.match(k.dump([path]), new RegExp(`inet ${ep.ip.replace(/\./g, '\\.')}/24`));
    await sighted.removeEndpoint(ep, 'test');
    sighted.stop();
  });

  it('reports nothing new on a repeated reconcile, and a late put never brings a removed port back', async () => {
    const agent = await startAgent();
    const ep = await attach(agent, { tenant: 'acme', network: 'red', netns: workload() }, silentLogger);
    const stale = await c().getEndpoint(ep.id);
    await agent.reconcileTenants(new Set(['acme']));
    await agent.reconcileTenants(new Set(['acme']));
    assert.equal((await c().getEndpoint(ep.id)).updatedAt, stale.updatedAt, 'a reconcile that changes nothing reports nothing');
    assert.ok(k.dump().includes(stale.ip), 'the port shows in the dump while attached (the check below can see one)');
    agent.stop(); // no watch from here: events are delivered by hand, a late put before the delete
    const port = agent.cache.revision;
    await agent.removeEndpoint(ep, 'test');
    agent.cache.apply({ type: 'put', kind: 'endpoint', revision: port + 1, object: stale });
    assert.equal(agent.cache.endpoints.has(ep.id), false, 'the late put is buried');
    await agent.reconcileTenants(new Set(['acme']));
    assert.ok(!k.dump().includes(stale.ip), 'no port came back');
    agent.cache.apply({ type: 'delete', kind: 'endpoint', revision: port + 2, object: stale });
    assert.equal(agent.cache.tombstoneCount, 0, 'the delete ends the tombstone');
  });

  it('attaches with handoff: the host side waits in the agent namespace; a Join after the sandbox died finds it again', async () => {
    const agent = await startAgent();
    const hostSide = (name: string) => k.dump([k.hostNs]).split('\n').find((l) => l.includes(`link ${name} `));
    await assert.rejects(attach(agent, { tenant: 'acme', network: 'red', handoff: true, netns: workload() }, silentLogger), (e: TenetError) => e.code === 'BAD_REQUEST');
    const ep = await attach(agent, { tenant: 'acme', network: 'red', handoff: true, idempotencyKey: 'h-1' }, silentLogger);
    assert.equal(ep.status, 'up');
    assert.ok(ep.attachment?.kind === 'handoff' && /^tnh[0-9a-f]{10}$/.test(ep.attachment.hostIfname), JSON.stringify(ep.attachment));
    const hostIfname = ep.attachment.hostIfname;
    assert.match(hostSide(hostIfname) ?? '', new RegExp(`veth peer ut-acme:tnv${hostIfname.slice(3)} mtu 1450 address ${ep.mac} down$`));
    // Docker's Join moves it; the sandbox then dies and takes the pair with it.
    const sandbox = workload();
    await k.run(['ip', '-n', k.hostNs, 'link', 'set', hostIfname, 'netns', sandbox]);
    await agent.reconcileTenants(new Set(['acme']));
    assert.equal(hostSide(hostIfname), undefined, 'a moved host side is not made again while the pair lives');
    await k.run(['nsenter', `--net=${sandbox}`, 'ip', '-batch', '-'], { input: `link del ${hostIfname}\n` });
    const again = await attachExisting(agent, ep.id, { handoff: true }, silentLogger);
    assert.deepEqual([again.id, again.status], [ep.id, 'up']);
    assert.match(hostSide(hostIfname) ?? '', / down$/, 'the pair is made again for the next Join');
    await agent.removeEndpoint(again, 'test');
    await agent.reconcileTenants(new Set(['acme']));
    assert.equal(hostSide(hostIfname), undefined, 'remove deletes the pair');
    agent.stop();
  });
});

/** A Datapath that counts set() calls and can be held at its start (to queue events behind it). */
class GatedDatapath extends Datapath {
  calls = 0;
  gate?: Promise<void>;
  waiting = false;

  override async set(...args: Parameters<Datapath['set']>): ReturnType<Datapath['set']> {
    this.calls++;
    if (this.gate) {
      this.waiting = true;
      await this.gate;
      this.waiting = false;
    }
    return super.set(...args);
  }
}

function idFor(key: string): string {
  return idFromKey(key)!;
}
