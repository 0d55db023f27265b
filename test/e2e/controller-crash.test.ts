/**
 * Issue 11, failure test (6), on the real executable and kernel: a `tenet controller` on
 * SQLite receives a few hundred concurrent API writes (network creates, endpoint creates,
 * handoff attaches to a lab host, label changes, policy updates) and is killed with SIGKILL
 * by PID in the middle. After it starts again on the same data:
 * - every write the client saw acknowledged (a 2xx with the object) is there, identical; a
 *   write whose answer never came may or may not be (test/support/acked-writes.ts);
 * - no address is held twice in a network, before or after new creates;
 * - the store revision never went backwards;
 * - the lab's agents carry on: every acknowledged attach becomes `up`, a ping between two
 *   workloads on two hosts works, and tenants stay isolated (next to a positive control).
 * The store alone under kill -9 is src/store/sqlite-durability.test.ts; this is the process.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ControllerClient } from '../../src/api/client.js';
import { sleep, waitFor } from '../../src/base/async.js';
import { handoffIfname } from '../../src/datapath/names.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import type { LabListing } from '../../src/lab/lab.js';
import { isTenetError } from '../../src/model/errors.js';
import type { Policy } from '../../src/model/policy.js';
import type { Endpoint, Network } from '../../src/model/types.js';
import { assertAcknowledgedKept, chain, Tracked, WriteLog } from '../support/acked-writes.js';
import { TenetEnv } from '../support/procs.js';

const t = new TenetEnv();
const RUN = `cc${t.prefix.slice(2)}`;
/** 22 chains of 14 steps: 308 writes at most, 22 in flight at a time. */
const STEPS = 14;
const CHAINS = { network: 4, endpoint: 8, attach: 4, policy: 6 };
/** The kill comes after this many acknowledgements (or LIMIT_MS), somewhere in the middle. */
const KILL_AFTER = 90 + Math.floor(Math.random() * 90);
const LIMIT_MS = 90_000;

/** Endpoint fields only the client writes: an agent reports status and MTU of attached ones. */
const clientFields = (e: Endpoint) => {
  if (!e.host) return e;
  const { status: _s, statusDetail: _d, mtu: _m, updatedAt: _u, ...rest } = e;
  return rest;
};

/** The object, or undefined for a NOT_FOUND answer. */
async function found<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isTenetError(err) && /NOT_FOUND$/.test(err.code)) return undefined;
    throw err;
  }
}

interface Run {
  log: WriteLog;
  objects: Tracked<unknown>[];
  attached: Tracked<Endpoint>[];
}

/** Starts every chain; resolves when all have stopped (done, or their controller gone). */
function writeChains(api: ControllerClient, read: () => ControllerClient): { run: Run; done: Promise<void> } {
  const run: Run = { log: new WriteLog(), objects: [], attached: [] };
  const { log } = run;
  const track = <T>(o: Tracked<T>) => (run.objects.push(o as Tracked<unknown>), o);
  const chains: Promise<void>[] = [];

  for (let c = 0; c < CHAINS.network; c++) {
    chains.push(chain(STEPS, async (s) => {
      const name = `n${c}-${s}`;
      const o = track(new Tracked<Network>(`network ${name}`, () => found(read().getNetwork('acme', name))));
      await log.write(o, () => api.createNetwork('acme', { name, subnet: `10.${100 + c}.${s}.0/24` }), () => true);
    }));
  }

  // Even steps create a detached endpoint (an address from one pool), odd steps label it.
  for (let c = 0; c < CHAINS.endpoint; c++) {
    let o: Tracked<Endpoint>;
    chains.push(chain(STEPS, async (s) => {
      if (s % 2 === 0) {
        const id = `${RUN}-e${c}-${s}`;
        o = track(new Tracked<Endpoint>(`endpoint ${id}`, () => found(read().getEndpoint(id))));
        await log.write(o, () => api.createEndpoint('acme', 'pool', { id, labels: { chain: String(c) } }), () => true);
      } else {
        const before = o.acked!;
        await log.write(o, () => api.labelEndpoint(before.id, { set: { step: String(s) } }), (e) =>
          e.labels.step === String(s) && isDeepStrictEqual({ ...e, labels: before.labels, updatedAt: before.updatedAt }, before));
      }
    }));
  }

  // Even steps create an endpoint in red, odd steps attach it to h1 as a handoff (the agent makes its veth pair).
  for (let c = 0; c < CHAINS.attach; c++) {
    let o: Tracked<Endpoint>;
    chains.push(chain(STEPS, async (s) => {
      if (s % 2 === 0) {
        const id = `${RUN}-a${c}-${s}`;
        o = track(new Tracked<Endpoint>(`attached endpoint ${id}`, () => found(read().getEndpoint(id)), clientFields));
        await log.write(o, () => api.createEndpoint('acme', 'red', { id }), () => true);
      } else {
        const attachment = { kind: 'handoff' as const, hostIfname: handoffIfname(o.acked!.id, 'eth0'), ifname: 'eth0' };
        await log.write(o, () => api.attachEndpoint(o.acked!.id, { host: 'h1', attachment }), (e) => isDeepStrictEqual(e.attachment, attachment));
        run.attached.push(o);
      }
    }));
  }

  // Each step replaces the policy's one rule by one naming the step's port.
  for (let c = 0; c < CHAINS.policy; c++) {
    const name = `p${c}`;
    const o = track(new Tracked<Policy>(`policy ${name}`, () => found(read().getPolicy('acme', name).then((d) => d.policy))));
    chains.push(chain(STEPS, async (s) => {
      const port = 1000 + s;
      await log.write(o, () => api.updatePolicy('acme', name, { removeRules: [1], addRules: [`allow tcp from any to any port ${port}`] }), (p) =>
        p.rules.length === 1 && p.rules[0]!.text.endsWith(`port ${port}`));
    }));
  }
  return { run, done: Promise.all(chains).then(() => undefined) };
}

/** The store revision, sampled until stopped: it must never go backwards while the controller answers. */
function watchRevision(api: ControllerClient): { max: () => number; stop: () => Promise<void> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const h = await api.health().catch(() => undefined);
      if (h) {
        assert.ok(h.revision >= max, `the revision went from ${max} back to ${h.revision}`);
        max = h.revision;
      }
      await sleep(50);
    }
  })();
  return { max: () => max, stop: async () => ((running = false), await loop) };
}

type Containers = LabListing['containers'];
let containers: Containers = [];

async function ping(from: string, to: string): Promise<boolean> {
  const ns = containers.find((c) => c.name === from)!.netns;
  return (await t.run(['ip', 'netns', 'exec', ns, 'ping', '-c1', '-W1', to])).code === 0;
}
const ipOf = (name: string) => containers.find((c) => c.name === name)!.ip;

describe('a SQLite controller killed with SIGKILL during concurrent writes', { skip: kernelSkip('controller SIGKILL with lab agents'), timeout: 420_000 }, () => {
  before(async () => {
    await t.startController();
    const api = new ControllerClient(`unix:${t.socket}`);
    try {
      for (const tenant of ['acme', 'beta']) await api.createTenant(tenant);
      await api.createNetwork('acme', { name: 'red', subnet: '192.168.90.0/24' });
      await api.createNetwork('acme', { name: 'pool', subnet: '10.90.0.0/22' });
      await api.createNetwork('beta', { name: 'blue', subnet: '192.168.91.0/24' });
      for (let c = 0; c < CHAINS.policy; c++) await api.createPolicy('acme', { name: `p${c}`, rules: ['allow icmp from any to any'] });
    } finally {
      api.close();
    }
    await t.okAll([
      ['lab', 'up', '--hosts', '2'],
      ['lab', 'run', 'h1', 'a1', '--tenant', 'acme', '--net', 'red'],
      ['lab', 'run', 'h2', 'a2', '--tenant', 'acme', '--net', 'red'],
      ['lab', 'run', 'h2', 'b1', '--tenant', 'beta', '--net', 'blue'],
      ['lab', 'run', 'h1', 'b2', '--tenant', 'beta', '--net', 'blue'],
    ]);
    containers = (await t.json<LabListing>('lab', 'ls')).containers;
  });
  after(() => t.destroy());

  it('keeps every acknowledged write, hands no address out twice, and the agents carry on', async (ctx) => {
    const api = new ControllerClient(`unix:${t.socket}`, 60_000);
    let reader = api;
    const revision = watchRevision(api);
    const { run, done } = writeChains(api, () => reader);
    const pid = t.controller!.pid!;
    await Promise.race([run.log.acked(KILL_AFTER), sleep(LIMIT_MS)]);
    const exited = new Promise((r) => t.controller!.once('exit', r));
    run.log.killing = true;
    process.kill(pid, 'SIGKILL');
    await exited;
    await done;
    const seen = revision.max();
    await revision.stop();
    api.close();
    assert.deepEqual(run.log.rejected, [], 'no write failed while the controller was up');
    assert.ok(run.log.acks >= 50 && run.log.unanswered > 0, `killed in the middle: ${run.log.acks} acknowledged, ${run.log.unanswered} unanswered`);

    await t.startController();
    assert.notEqual(t.controller!.pid, pid);
    reader = new ControllerClient(`unix:${t.socket}`, 60_000);
    try {
      const now = (await reader.health()).revision;
      assert.ok(now >= seen, `the revision after the restart (${now}) is not below the last one seen (${seen})`);
      const verdict = await assertAcknowledgedKept(run.objects);
      ctx.diagnostic(`${run.log.sent} writes sent, ${run.log.acks} acknowledged before the kill; after it: ${verdict.acknowledged} objects as acknowledged, ${verdict.tookUnanswered} took their unanswered write, ${verdict.createdUnanswered} of the unanswered creates were committed`);

      await assertOneHolderPerAddress(reader, ['pool', 'red']);
      // New creates after the restart: none is given an address already held.
      for (let i = 0; i < 6; i++) await reader.createEndpoint('acme', 'pool', { id: `${RUN}-after-${i}` });
      await assertOneHolderPerAddress(reader, ['pool', 'red']);
      const vnis = (await reader.listNetworks()).map((n) => n.vni);
      assert.equal(new Set(vnis).size, vnis.length, 'no VNI handed out twice');

      await assertAgentsCarryOn(reader, run.attached);
    } finally {
      reader.close();
    }
  });
});

/** Each address of a network is held by one reservation, and each endpoint holds its own. */
async function assertOneHolderPerAddress(api: ControllerClient, networks: string[]): Promise<void> {
  for (const net of networks) {
    const reservations = await api.listAddresses('acme', net);
    const ips = reservations.map((r) => r.ip);
    assert.equal(new Set(ips).size, ips.length, `${net}: an address is reserved twice`);
    const endpoints = await api.listEndpoints({ tenant: 'acme', network: net });
    const epIps = endpoints.map((e) => e.ip);
    assert.equal(new Set(epIps).size, epIps.length, `${net}: two endpoints share an address`);
    for (const e of endpoints) {
      const r = reservations.find((x) => x.ip === e.ip);
      assert.deepEqual(r?.owner, { kind: 'endpoint', id: e.id }, `${net}: ${e.id}'s address ${e.ip} is reserved for it`);
    }
  }
}

/** After the restart the agents resync: acknowledged attaches come up, traffic flows, tenants stay apart. */
async function assertAgentsCarryOn(api: ControllerClient, attached: Tracked<Endpoint>[]): Promise<void> {
  const ids = attached.filter((o) => o.acked?.host).map((o) => o.acked!.id);
  assert.ok(ids.length > 0, 'some attaches were acknowledged before the kill');
  await waitFor(async () => {
    const eps = await api.listEndpoints({ tenant: 'acme', network: 'red', host: 'h1' });
    return ids.every((id) => eps.find((e) => e.id === id)?.status === 'up') || undefined;
  }, 120_000, 'every acknowledged attach to be up', 500).catch(() => undefined);
  const eps = await api.listEndpoints({ tenant: 'acme', network: 'red', host: 'h1' });
  const notUp = ids.filter((id) => eps.find((e) => e.id === id)?.status !== 'up');
  assert.deepEqual(notUp, [], 'every acknowledged attach is up after the restart');

  const reached = await waitFor(async () => (await ping('a1', ipOf('a2'))) || undefined, 60_000, 'a1 -> a2 after the restart', 500).catch(() => false);
  assert.ok(reached, 'positive control: a1 (h1) reaches a2 (h2) after the controller restart');
  await assertIsolated(ping, 'acme does not reach beta after the controller restart', { from: 'a1', to: ipOf('b1'), control: { from: 'b2' } });
}
