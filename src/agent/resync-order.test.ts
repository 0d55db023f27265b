/**
 * An attach never waits behind a full reconcile's workload reads (issue 9: in a 200-namespace
 * CNI run one ADD took 19 s and one DEL 21 s, queued behind the periodic resync's one
 * `nsenter ip` per workload namespace). Order, never time: the reads are held at a gate, and
 * an ADD and a DEL must finish while they are still held. Then the reads taken before a
 * change must not be used to "repair" what that change made (workload-reads.ts), while drift
 * nobody made meanwhile still is repaired (the positive control).
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
import { CommandError, type CommandResult, type CommandRunner, type RunOptions } from '../datapath/runner.js';
import { FakeKernel } from '../datapath/testing/fake-kernel.js';
import { workloadReadArgv } from '../datapath/workload.js';
import { MemoryStore } from '../store/memory.js';
import { attach, remove } from './attach.js';
import { agentOnFakeKernel, fakeWorkload } from './testing/fake-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-resync-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fake kernel; a workload read answers what the kernel held when it ran, but only once the gate opens. */
class GatedRunner implements CommandRunner {
  gate: Promise<void> = Promise.resolve();
  held = 0;
  /** Every argv run, joined. */
  log: string[] = [];
  constructor(private readonly kernel: FakeKernel) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.log.push(argv.join(' '));
    const r = this.kernel.exec(argv, opts.input);
    if (isWorkloadRead(argv)) {
      this.held++;
      await this.gate;
      this.held--;
    }
    if (r.code !== 0 && !opts.allowFail) throw new CommandError(argv, r);
    return r;
  }
}

const READ = workloadReadArgv('X').slice(2).join(' ');
const isWorkloadRead = (argv: string[]) => argv[0] === 'nsenter' && argv.slice(2).join(' ') === READ;

test('a full reconcile reads the workloads outside the queue: an ADD and a DEL finish while the reads are held', { timeout: 120_000 }, async () => {
  const kernel = new FakeKernel();
  const runner = new GatedRunner(kernel);
  const app = await buildControllerApp({ store: new MemoryStore(), logger: silentLogger, version: 'test', bookmarkMs: 100 });
  const socket = join(dir, 'c.sock');
  await app.listen({ path: socket });
  const controller = new ControllerClient(`unix:${socket}`);
  const workload = (name: string) => fakeWorkload(kernel, dir, name);
  const agent = agentOnFakeKernel(kernel, runner, controller, 'ro-', { resyncMs: 3_600_000, reclaimMs: 0 });
  const add = (name: string, path: string) => attach(agent, { tenant: 'acme', network: 'red', netns: path, id: name }, silentLogger);
  try {
    await controller.createTenant('acme');
    await controller.createNetwork('acme', { name: 'red', subnet: '10.9.0.0/24' });
    await agent.start();
    await waitFor(() => agent.reconciles.full >= 1 || undefined, 5000, 'the first full reconcile');
    const kept = await add('kept', workload('kept'));
    const drifted = await add('drifted', workload('drifted'));
    const reused = workload('reused');
    const old = await add('old', reused);
    await agent.reconcileAll();

    // Drift nobody's call made: the full reconcile must repair it (positive control).
    kernel.exec(['nsenter', `--net=${join(dir, 'drifted')}`, 'ip', '-batch', '-'], 'addr flush dev eth0\n');
    assert.doesNotMatch(dumpOf(kernel, 'drifted'), holds(drifted.ip), 'the drift is there before the reconcile');

    let open!: () => void;
    runner.gate = new Promise((r) => (open = r));
    const fullBefore = agent.reconciles.full;
    const full = agent.reconcileAll();
    await waitFor(() => runner.held > 0 || undefined, 5000, 'the full reconcile reading the workloads');

    // While the reads are held: a DEL, and an ADD into the same namespace (a container re-attached).
    await remove(agent, old.id, silentLogger, true);
    const fresh = await add('fresh', reused);
    const fresh2 = await add('fresh2', workload('new'));
    assert.ok(runner.held > 0, 'the DEL and the ADDs finished while the workload reads were still held');
    assert.equal(agent.reconciles.full, fullBefore, 'and before the full reconcile');
    assert.equal(fresh.status, 'up');
    assert.equal(fresh2.status, 'up');

    const mark = runner.log.length;
    open();
    const result = await full;
    assert.equal(agent.reconciles.full, fullBefore + 1);
    assert.deepEqual([...result.failedPorts.keys()], [], 'no port failed');
    const entered = runner.log.slice(mark).filter((c) => c.startsWith(`nsenter --net=${reused} `) && !c.endsWith(READ));
    assert.deepEqual(entered, [], 'a read taken before the re-attach was not used to change its namespace');
    assert.match(dumpOf(kernel, 'reused'), holds(fresh.ip), 'the re-attached namespace holds its new address');
    assert.match(dumpOf(kernel, 'drifted'), holds(drifted.ip), 'the drift nobody made meanwhile was repaired');
    assert.match(dumpOf(kernel, 'kept'), holds(kept.ip));
  } finally {
    agent.stop();
    controller.close();
    await app.close();
  }
});

const holds = (ip: string) => new RegExp(`"local":"${ip.replaceAll('.', '\\.')}"`);

/** The part of the fake kernel's dump about one workload namespace of this test. */
function dumpOf(kernel: FakeKernel, name: string): string {
  const path = join(dir, name);
  const r = kernel.exec(['nsenter', `--net=${path}`, 'ip', '-j', '-d', 'addr', 'show'], '');
  return r.stdout;
}
