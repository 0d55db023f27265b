/**
 * What one attach (ADD) and one remove (DEL) cost the agent, counted, never timed (issue 9:
 * the agent's attach path is most of a CNI ADD, docs/benchmarks.md): processes spawned, the
 * rounds they run in (a round starts when a process starts while none runs: processes of
 * one round overlap, rounds follow each other), and requests to the controller. The tenant
 * is warm (its namespace converged, 20 endpoints of it attached here), as on a host in use.
 * Docker's Join (a handoff attach) is counted too. The counts are pinned so that a change adding a process or a round to the hot path is seen;
 * lower them when the path gets cheaper.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import { waitFor } from '../base/async.js';
import { silentLogger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import type { CommandResult, CommandRunner, RunOptions } from '../datapath/runner.js';
import { CommandError } from '../datapath/runner.js';
import { FakeKernel } from '../datapath/testing/fake-kernel.js';
import { MemoryStore } from '../store/memory.js';
import { attach, detach, remove } from './attach.js';
import { agentOnFakeKernel, fakeWorkload } from './testing/fake-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-attach-cost-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A CommandRunner over the fake kernel that counts processes and the rounds they run in. */
class CountingRunner implements CommandRunner {
  processes: string[] = [];
  rounds = 0;
  private running = 0;
  constructor(private readonly kernel: FakeKernel) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (this.running++ === 0) this.rounds++;
    this.processes.push(argv.slice(0, 3).join(' '));
    try {
      // A real process takes tens of ms; meanwhile the agent starts whatever does not wait for
      // it (after a file check or two; 250 ms leaves room on a loaded machine). The count of rounds, not this time, is what is asserted.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const r = this.kernel.exec(argv, opts.input);
      if (r.code !== 0 && !opts.allowFail) throw new CommandError(argv, r);
      return r;
    } finally {
      this.running--;
    }
  }

  reset(): void {
    this.processes = [];
    this.rounds = 0;
  }
}

test('attach cost: one ADD and one DEL into a warm tenant, in processes, rounds and controller requests', async () => {
  const kernel = new FakeKernel();
  const runner = new CountingRunner(kernel);
  const requests: string[] = [];
  const store = new MemoryStore();
  const app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 100 });
  let refuseDetach = false;
  app.addHook('onRequest', async (req, reply) => {
    if (refuseDetach && req.method === 'DELETE' && req.url.endsWith('/attachment')) {
      refuseDetach = false;
      return reply.code(503).send({ error: { code: 'CONTROLLER_UNREACHABLE', message: 'injected: the detach is refused' } });
    }
    // The watch stream, the realized-revision report and the heartbeat timer run beside the path, not in it.
    if (!req.url.startsWith('/v1/watch') && !req.url.endsWith('/realized') && !req.url.endsWith('/heartbeat')) requests.push(`${req.method} ${req.url.split('?')[0]}`);
  });
  const socket = join(dir, 'c.sock');
  await app.listen({ path: socket });
  const controller = new ControllerClient(`unix:${socket}`);
  const workload = (name: string) => fakeWorkload(kernel, dir, name);
  const agent = agentOnFakeKernel(kernel, runner, controller, 'uc-');
  try {
    await controller.createTenant('acme');
    await controller.createNetwork('acme', { name: 'red', subnet: '10.9.0.0/24' });
    await agent.start();
    await waitFor(() => agent.reconciles.full >= 1 || undefined, 5000, 'the first full reconcile');
    for (let i = 0; i < 20; i++) await attach(agent, { tenant: 'acme', network: 'red', netns: workload(`warm${i}`), id: `warm${i}` }, silentLogger);
    await agent.reconcileAll(); // settles whatever the watch brought; the tenant is converged

    const path = workload('new');
    runner.reset();
    requests.length = 0;
    const ep = await attach(agent, { tenant: 'acme', network: 'red', netns: path, id: 'cni-new' }, silentLogger);
    const add = { processes: [...runner.processes], rounds: runner.rounds, requests: [...requests] };
    assert.equal(ep.status, 'up', 'the ADD answered with its endpoint up');
    assert.match(kernel.dump(), new RegExp(`${ep.ip}/24`), 'and its address is in the kernel');

    runner.reset();
    requests.length = 0;
    await remove(agent, ep.id, silentLogger);
    const del = { processes: [...runner.processes], rounds: runner.rounds, requests: [...requests] };
    assert.doesNotMatch(kernel.dump(), new RegExp(`${ep.ip}/24`), 'the DEL took the address away');

    // Docker's Join: a handoff attach, its pair made in the agent's namespace.
    runner.reset();
    requests.length = 0;
    const joined = await attach(agent, { tenant: 'acme', network: 'red', handoff: true, id: 'join-new' }, silentLogger);
    const join = { processes: [...runner.processes], rounds: runner.rounds, requests: [...requests] };
    assert.equal(joined.status, 'up', 'the Join answered with its endpoint up');

    // Docker's Leave (detach with overlap): the port goes while the controller detaches. A
    // refused detach first: the Leave fails and the endpoint's pair is there again.
    const tnv = joined.attachment?.kind === 'handoff' ? `tnv${joined.attachment.hostIfname.slice(3)}` : '?';
    refuseDetach = true;
    await assert.rejects(detach(agent, joined.id, silentLogger, true), /injected/);
    assert.match(kernel.dump(), new RegExp(`link ${tnv} veth`), 'a refused Leave leaves the endpoint attached, its pair made again');
    assert.ok(agent.cache.endpoints.get(joined.id)?.attachment, 'and attached in the cache');
    runner.reset();
    requests.length = 0;
    const left = await detach(agent, joined.id, silentLogger, true);
    const leave = { processes: [...runner.processes], rounds: runner.rounds, requests: [...requests] };
    assert.equal(left.status, 'detached');
    assert.doesNotMatch(kernel.dump(), new RegExp(`link ${tnv} `), 'the Leave took the pair away');

    console.log(`ADD: ${JSON.stringify(add)}\nDEL: ${JSON.stringify(del)}\nJoin: ${JSON.stringify(join)}\nLeave: ${JSON.stringify(leave)}`);
    assert.deepEqual([leave.processes.length, leave.rounds, leave.requests.length], [2, 1, 1], 'Leave: processes, rounds, controller requests');
    // One process makes the whole port (src/datapath/port-create.ts, ADR 025 addendum): for an
    // ADD, from inside the workload namespace; for a Join, from the agent's. Beside it, the
    // pinning element's nft: 2 processes in 1 round (3 in 2 before: the pair, then its other end).
    assert.deepEqual([join.processes.length, join.rounds, join.requests.length], [2, 1, 2], 'Join: processes, rounds, controller requests');
    assert.deepEqual([add.processes.length, add.rounds, add.requests.length], [2, 1, 2], 'ADD: processes, rounds, controller requests');
    assert.deepEqual([del.processes.length, del.rounds, del.requests.length], [2, 1, 1], 'DEL: processes, rounds, controller requests');
  } finally {
    agent.stop();
    controller.close();
    await app.close();
  }
});
