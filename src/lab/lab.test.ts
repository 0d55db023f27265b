/**
 * The lab's flow without touching the kernel: a RecordingRunner takes the `ip` commands and
 * stand-in agents run as plain processes (no namespaces), next to a fake controller.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MarkerOwnership } from '../datapath/ownership.js';
import { RecordingRunner } from '../datapath/runner.js';
import type { HostPlan } from './config.js';
import { startFakeController, writeStandInAgent } from './fakes.js';
import { Lab } from './lab.js';
import { agentAlive, isAnyLabAgent, readCmdline, stopProcesses } from './procs.js';

/** Pretends the namespaces the lab added exist, so `down` finds them by prefix. */
function fakeKernel(): RecordingRunner {
  const namespaces = new Set<string>();
  return new RecordingRunner((argv, input) => {
    const batch = (input ?? '').split('\n');
    if (argv.join(' ') === 'ip -j netns list') return { code: 0, stdout: JSON.stringify([...namespaces].map((name) => ({ name }))), stderr: '' };
    if (argv.join(' ') === 'ip -batch -') batch.forEach((l) => l.startsWith('netns add ') && namespaces.add(l.slice(10)));
    if (argv.join(' ') === 'ip -force -batch -') batch.forEach((l) => l.startsWith('netns del ') && namespaces.delete(l.slice(10)));
    if (argv[1] === 'netns' && argv[2] === 'add') namespaces.add(argv[3]!);
    return undefined;
  });
}

async function setUp(t: TestContext, opts: { controller?: boolean; argv?: (h: HostPlan) => string[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-lab-'));
  const script = writeStandInAgent(dir);
  const prefix = `tt${randomBytes(2).toString('hex')}`;
  const controllerSocket = join(dir, 'tenet.sock');
  const controller = opts.controller === false ? undefined : await startFakeController(controllerSocket, ['h1', 'h2']);
  const runner = fakeKernel();
  const lab = new Lab({
    prefix,
    runDir: dir,
    controllerSocket,
    runner,
    agentTimeoutMs: 5000,
    ownership: new MarkerOwnership(join(dir, 'owned'), async () => ({ identity: { dev: 0, ino: 1 }, mark: '0:1' })), // no kernel: any identity
    agentArgv: opts.argv ?? ((h) => [process.execPath, script, 'agent', '--host', h.name, '--listen', h.socket, '--ns-prefix', h.nsPrefix]),
  });
  t.after(async () => {
    await lab.down().catch(() => undefined);
    await controller?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, runner, controller, prefix, dir };
}

test('up builds the underlay in one batch per namespace, starts agents, and down undoes it all', async (t) => {
  const { lab, runner, controller, prefix } = await setUp(t);
  const state = await lab.up(2);
  assert.deepEqual(runner.transcript().split('\n').slice(0, 4), ['ip -j netns list', 'ip -batch -', `  netns add ${prefix}-ul`, `  netns add ${prefix}-h1`]);
  assert.equal(runner.calls.filter((c) => c.argv.includes('-batch')).length, 4); // netns add, ul, h1, h2
  const listing = lab.ls();
  assert.deepEqual(listing.processes.map((p) => [p.name, p.kind, p.host, p.alive]), [['agent h1', 'agent', 'h1', true], ['agent h2', 'agent', 'h2', true]]);
  assert.deepEqual(listing.processes.map((p) => p.pid), state.hosts.map((h) => h.pid), 'every process the lab started, by PID');
  assert.equal(listing.hosts[1]?.vtep, '10.99.0.3');

  await assert.rejects(lab.up(1), { code: 'LAB_ERROR', message: /already up.*run `tenet lab down` first/ });

  const report = await lab.down();
  assert.deepEqual(report.agentsStopped.sort(), state.hosts.map((h) => h.pid).sort());
  assert.deepEqual(report.namespacesDeleted.sort(), [`${prefix}-h1`, `${prefix}-h2`, `${prefix}-ul`]);
  assert.deepEqual(controller?.deletedHosts, ['h1', 'h2']);
  assert.ok(state.hosts.every((h) => !agentAlive(h.pid, h.nsPrefix) && !existsSync(h.socket)));
  assert.ok(!existsSync(lab.config.statePath));
  assert.deepEqual(await lab.down(), { dockerdsStopped: [], agentsStopped: [], controllersStopped: [], etcdStopped: [], namespacesDeleted: [], hostsForgotten: [] });
});

test('run attaches through the host agent; a failed attach removes the namespace and keeps the API error', async (t) => {
  const { lab, runner, prefix } = await setUp(t);
  await lab.up(1);
  const ep = await lab.run('h1', 'c1', { tenant: 'admin', network: 'red' });
  assert.equal(ep.attachment?.kind === 'netns' && ep.attachment.netns, `/run/netns/${prefix}-c-c1`);
  assert.deepEqual(lab.ls().containers.map((c) => [c.name, c.host, c.ip, c.endpointId]), [['c1', 'h1', ep.ip, ep.id]]);
  await assert.rejects(lab.run('h1', 'c1', { tenant: 'admin', network: 'red' }), { code: 'LAB_ERROR', message: /exists already/ });
  await assert.rejects(lab.run('h9', 'c2', { tenant: 'admin', network: 'red' }), { code: 'LAB_ERROR', message: /no host h9: pick one of h1/ });

  await assert.rejects(lab.run('h1', 'c2', { tenant: 'admin', network: 'missing' }), { code: 'NETWORK_NOT_FOUND' });
  assert.match(runner.transcript(), new RegExp(`ip -force -batch -\\n  netns del ${prefix}-c-c2`));
  assert.deepEqual(lab.ls().containers.map((c) => c.name), ['c1']);

  await lab.rm('c1');
  assert.deepEqual(lab.ls().containers, []);
  await assert.rejects(lab.rm('c1'), { code: 'LAB_ERROR', message: /no lab container named c1/ });
});

test('up refuses before building anything when the controller is unreachable', async (t) => {
  const { lab, runner } = await setUp(t, { controller: false });
  await assert.rejects(lab.up(1), { code: 'CONTROLLER_UNREACHABLE' });
  assert.equal(runner.transcript(), 'ip -j netns list');
  assert.ok(!existsSync(lab.config.statePath));
});

test('an agent that dies at start fails up with its last words and its log named, and the lab is removed', async (t) => {
  const dies = (h: HostPlan) => [process.execPath, '-e', 'console.error("tenet: the store is unavailable"); process.exit(3)', 'agent', '--ns-prefix', h.nsPrefix];
  const { lab, runner, prefix } = await setUp(t, { argv: dies });
  await assert.rejects(lab.up(1), { code: 'LAB_ERROR', message: new RegExp(`agent of h1 exited while starting: tenet: the store is unavailable: see .*${prefix}-h1\\.log`) });
  assert.ok(!existsSync(lab.config.statePath));
  assert.match(runner.transcript(), new RegExp(`netns del ${prefix}-h1`));
});

test('lab commands without a lab say how to start one', async (t) => {
  const { lab } = await setUp(t);
  assert.throws(() => lab.state(), { code: 'LAB_ERROR', message: /run `tenet lab up --hosts 2` first/ });
  await assert.rejects(lab.run('h1', 'c1', { tenant: 'a', network: 'b' }), { code: 'LAB_ERROR' });
  assert.equal(lab.ls().up, false);
});

test('stopProcesses escalates to KILL for an agent that ignores TERM', async () => {
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM',()=>{});setInterval(()=>{},1000)", 'agent', '--ns-prefix', 'zz9-h1-'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  await new Promise((r) => setTimeout(r, 200)); // let it install its TERM handler
  const stopped = await stopProcesses([pid], (p) => isAnyLabAgent(readCmdline(p), 'zz9'), 300);
  assert.deepEqual(stopped, [pid]);
  assert.equal(readCmdline(pid), '');
});
