/**
 * Issue 11, failure test (3), on `tenet lab up --store etcd --controllers 2` (3 etcd members,
 * 2 replicas, 2 hosts: traffic must cross hosts): both replicas are killed with SIGKILL by PID.
 * - Existing traffic keeps flowing: a continuous ping from a1 (h1) to a2 (h2), spanning the
 *   kills, the whole time without a controller and the return of one, loses nothing (replies
 *   counted against requests); tenants stay isolated (assertIsolated, with its control).
 * - New attaches fail with a clear error: the agent's API answers CONTROLLER_UNREACHABLE, and
 *   `tenet lab run` and `tenet ep ls` print one line and exit non-zero.
 * - Agents resync when one replica returns: while every replica the agents know was down, a
 *   side controller of the test (on the same etcd, a socket the agents do not know, stopped
 *   again by PID) attached a new endpoint to h2 and removed one of h2's; once `lab restart c2`
 *   brings a replica back, both hosts' kernel views equal the store and the new endpoint is up.
 * Host leases are 5 minutes here (TENET_HOST_LEASE_MS), so no host expires while every
 * controller is down on a slow machine: this test is about the agents, not lease expiry.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControllerClient } from '../../src/api/client.js';
import { sleep, waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { isTenetError } from '../../src/model/errors.js';
import { ClusterLab, ContinuousPing, createAttached, oneClearLine, viewsMatchStore } from '../support/cluster-lab.js';
import { TENET } from '../support/procs.js';

const lab = new ClusterLab({ TENET_HOST_LEASE_MS: '300000' });
const HOSTS = ['h1', 'h2'];
let side: ChildProcess | undefined;

/** A controller of the test's own on the lab's etcd, on a socket no agent knows. */
async function startSideController(): Promise<ControllerClient> {
  const socket = join(lab.dir, 'side.sock');
  side = spawn(process.execPath, [TENET, 'controller', '--store', lab.listing!.store!, '--data-dir', join(lab.dir, 'side-data'), '--socket', socket, '--listen', ''], { env: lab.env, stdio: ['ignore', 'ignore', 'inherit'] });
  const client = new ControllerClient(`unix:${socket}`, 60_000);
  await waitFor(() => (side!.exitCode !== null ? Promise.reject(new Error(`side controller exited ${side!.exitCode}`)) : client.health().then((h) => h.ok || undefined, () => undefined)), 60_000, 'the side controller', 200);
  return client;
}

async function stopSideController(): Promise<void> {
  const child = side;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGKILL');
  await exited;
}

describe('every controller replica down', { skip: kernelSkip('all controllers down in an etcd lab'), timeout: 240_000 }, () => {
  before(async () => {
    await lab.up(2);
    await lab.setUp(
      [{ tenant: 'acme', name: 'red', subnet: '192.168.72.0/24' }, { tenant: 'beta', name: 'blue', subnet: '192.168.73.0/24' }],
      [
        { host: 'h1', name: 'a1', tenant: 'acme', net: 'red' },
        { host: 'h2', name: 'a2', tenant: 'acme', net: 'red' },
        { host: 'h2', name: 'b1', tenant: 'beta', net: 'blue' },
        { host: 'h1', name: 'b2', tenant: 'beta', net: 'blue' },
      ],
    );
    const api = lab.api();
    await createAttached(api, 'acme', 'red', 'doomed', 'h2');
    assert.deepEqual(await viewsMatchStore(lab, api, 'acme', 'red', HOSTS), [], 'before the kills, every host realizes the store');
    api.close();
  });
  after(async () => {
    await stopSideController();
    await lab.destroy();
  });

  it('keeps traffic flowing, refuses new attaches clearly, and resyncs when a replica returns', async (ctx) => {
    const ping = new ContinuousPing(lab.container('a1').netns, lab.container('a2').ip);
    let stats = { sent: 0, received: 0 };
    try {
      await sleep(1000);
      for (const c of ['controller c1', 'controller c2']) ctx.diagnostic(`killed ${c} (pid ${await lab.kill(c)})`);

      const agent = lab.agent('h1', 30_000);
      const refused = await agent.attach({ tenant: 'acme', network: 'red', handoff: true }).then(() => undefined, (e: unknown) => e);
      agent.close();
      assert.ok(isTenetError(refused), `the attach is refused with a TenetError: ${String(refused)}`);
      assert.equal(refused.code, 'CONTROLLER_UNREACHABLE', refused.message);
      const run = await lab.tenet('lab', 'run', 'h1', 'late', '--tenant', 'acme', '--net', 'red');
      assert.notEqual(run.code, 0, 'lab run fails while every controller is down');
      assert.ok(oneClearLine(run.stderr), `lab run says why in one line: ${run.stderr}`);
      const ls = await lab.tenet('ep', 'ls');
      assert.notEqual(ls.code, 0, 'the CLI fails while every controller is down');
      assert.ok(oneClearLine(ls.stderr), `the CLI says why in one line: ${ls.stderr}`);
      await assertIsolated(lab.ping, 'acme does not reach beta while every controller is down', { from: 'a1', to: lab.container('b1').ip, control: { from: 'b2' } });

      const sideApi = await startSideController();
      const added = await createAttached(sideApi, 'acme', 'red', 'while-down', 'h2');
      await sideApi.deleteEndpoint('doomed');
      sideApi.close();
      await stopSideController();
      ctx.diagnostic(`while every replica was down: attached ${added.id} (${added.ip}) to h2, removed doomed`);

      await lab.restart('c2');
      const api = lab.api(60_000, 'c2');
      try {
        assert.deepEqual(await viewsMatchStore(lab, api, 'acme', 'red', HOSTS), [], 'once c2 is back, every host realizes what changed while it was down');
        const up = await waitFor(async () => ((await api.getEndpoint(added.id)).status === 'up' ? true : undefined), 60_000, `${added.id} to be up`, 250).catch(() => false);
        assert.ok(up, `${added.id}, attached while the agents had no controller, is up`);
      } finally {
        api.close();
      }
    } finally {
      stats = await ping.stop();
    }
    ctx.diagnostic(`continuous ping a1 -> a2: ${stats.sent} sent, ${stats.received} received`);
    assert.ok(stats.sent >= 25, `the ping ran through the test (${stats.sent} sent)`);
    assert.equal(stats.received, stats.sent, 'existing traffic kept flowing: no echo request lost');
  });
});
