/**
 * The lab on the real kernel, with stand-in agents (the full lab with real agents is tested
 * end to end elsewhere). Root only. Every name carries a fresh prefix, traffic stays inside
 * the lab's namespaces, every ping is bounded, and the lab is removed even when a check fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { namespaceIdentity, sameNamespace } from '../datapath/ns-identity.js';
import { ExecRunner } from '../datapath/runner.js';
import { startFakeController, writeStandInAgent } from './fakes.js';
import { Lab } from './lab.js';
import { listNamespaces } from './netns.js';
import { readCmdline } from './procs.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import { assertIsolated } from '../datapath/testing/reach.js';

const runner = new ExecRunner();
const ping = (ns: string, ip: string) =>
  runner.run(['timeout', '10', 'ip', 'netns', 'exec', ns, 'ping', '-c1', '-W2', ip], { allowFail: true });

test('lab up builds pingable hosts, and down cleans up after a crash', { skip: kernelSkip('lab on the kernel') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-lab-'));
  const prefix = `tt${randomBytes(2).toString('hex')}`;
  const script = writeStandInAgent(dir);
  const controller = await startFakeController(join(dir, 'tenet.sock'), ['h1', 'h2']);
  const lab = new Lab({
    prefix,
    runDir: dir,
    controllerSocket: controller.socket,
    runner,
    agentTimeoutMs: 10_000,
    agentArgv: (h) => ['ip', 'netns', 'exec', h.netns, process.execPath, script, 'agent', '--host', h.name, '--listen', h.socket, '--ns-prefix', h.nsPrefix],
  });
  t.after(async () => {
    await lab.down().catch(() => undefined);
    await controller.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ours = async () => (await listNamespaces(runner)).filter((n) => n.startsWith(`${prefix}-`)).sort();

  const state = await lab.up(2);
  assert.deepEqual(await ours(), [`${prefix}-h1`, `${prefix}-h2`, `${prefix}-ul`]);
  assert.equal((await ping(`${prefix}-h1`, '10.99.0.3')).code, 0, 'h1 reaches h2 over the underlay');
  assert.equal((await ping(`${prefix}-h2`, '10.99.0.2')).code, 0, 'h2 reaches h1 over the underlay');
  const reaches = async (ns: string, ip: string) => (await ping(ns, ip)).code === 0;
  await assertIsolated(reaches, 'nobody else is on the underlay', { from: `${prefix}-h1`, to: '10.99.0.99', control: { from: `${prefix}-h1`, to: '10.99.0.3' } });
  assert.deepEqual(lab.ls().processes.map((p) => [p.name, p.alive]), [['agent h1', true], ['agent h2', true]]);

  await lab.run('h1', 'c1', { tenant: 'admin', network: 'red' });
  const owned = await lab.config.ownership.ownedIdentities();
  const isOwned = async (ns: string) => (await namespaceIdentity(`/run/netns/${ns}`).then((me) => owned.some((id) => sameNamespace(id, me))));
  assert.ok((await isOwned(`${prefix}-h1`)) && (await isOwned(`${prefix}-ul`)), 'lab hosts and the underlay are marked as Tenet\'s');
  assert.equal(await isOwned(`${prefix}-c-c1`), false, 'a lab container is a workload: unmarked, attachable');
  const links = await lab.execCapture('c1', ['ip', '-br', 'link', 'show', 'lo']);
  assert.match(links.stdout, /^lo\s+UNKNOWN/, 'the container namespace exists with lo up');
  assert.equal(await lab.exec('c1', ['sh', '-c', 'exit 3']), 3, 'exec passes on the exit code');

  rmSync(lab.config.statePath); // a crash: the lab's record is gone
  const report = await lab.down();
  assert.deepEqual(await ours(), []);
  assert.deepEqual(report.namespacesDeleted.sort(), [`${prefix}-c-c1`, `${prefix}-h1`, `${prefix}-h2`, `${prefix}-ul`]);
  assert.deepEqual(report.agentsStopped.sort(), state.hosts.map((h) => h.pid).sort());
  assert.ok(state.hosts.every((h) => readCmdline(h.pid!) === ''), 'stand-in agents are gone');
  assert.deepEqual(controller.deletedHosts, ['h1', 'h2']);
  assert.deepEqual(await lab.down(), { dockerdsStopped: [], agentsStopped: [], controllersStopped: [], etcdStopped: [], namespacesDeleted: [], hostsForgotten: [] });
});
