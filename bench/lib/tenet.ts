/**
 * A Tenet of the benchmark's own: a controller process with a temporary data dir and unix
 * socket (as test/support/procs.ts starts one for the e2e tests), and a lab under a unique
 * prefix, so a benchmark never touches a real `tenet up`, another lab, or another run.
 * Everything it makes is registered for cleanup before it is made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient, ControllerClient } from '../../src/api/client.js';
import { waitFor } from '../../src/base/async.js';
import { containerNs, TENET_ENTRY } from '../../src/lab/config.js';
import { Lab } from '../../src/lab/lab.js';
import type { Endpoint } from '../../src/model/types.js';
import { deleteByPrefix, stopBackground } from './kernel.js';
import type { Cleanup } from './main.js';

export const TENANT = 'bench';
export const NETWORK = 'net';

export interface Rig {
  prefix: string;
  dir: string;
  lab: Lab;
  controller: ControllerClient;
  /** The agent API of a lab host ("h1"…), as the CLI and the CNI plugin reach it. */
  agent(host: string): AgentClient;
  /** A lab container (namespace + endpoint) in the benchmark network. */
  container(host: string, name: string): Promise<{ ns: string; ep: Endpoint }>;
}

export async function startRig(tag: string, hosts: number, subnet: string, cleanup: Cleanup): Promise<Rig> {
  const { prefix, dir } = benchWorkspace(tag, cleanup);
  const socket = join(dir, 'tenet.sock');
  const proc = startController(dir, socket);
  cleanup.add(`stop controller pid ${proc.pid}`, () => stopChild(proc));
  const controller = new ControllerClient(`unix:${socket}`, 10_000);
  cleanup.add('close controller client', () => controller.close());
  await waitFor(() => controller.health().then((h) => h.ok || undefined, () => undefined), 15_000, `the controller (log: ${dir}/controller.log)`, 50);

  const lab = new Lab({ prefix, runDir: join(dir, 'run'), controllerSocket: socket });
  cleanup.add(`lab down ${prefix}`, () => lab.down());
  await lab.up(hosts);
  await createBenchNetwork(controller, subnet);
  const agent = agentClients(lab, 30_000, cleanup);
  const container = async (host: string, name: string) => {
    const ep = await lab.run(host, name, { tenant: TENANT, network: NETWORK });
    return { ns: containerNs(prefix, name), ep };
  };
  cleanup.add('stop background commands', stopBackground);
  console.log(`lab ${prefix}: ${hosts} host(s), controller pid ${proc.pid}, data in ${dir}`);
  return { prefix, dir, lab, controller, agent, container };
}

/** A unique lab prefix and a temporary directory, both removed (with the prefix's namespaces) at cleanup. */
export function benchWorkspace(tag: string, cleanup: Cleanup): { prefix: string; dir: string } {
  const prefix = `${tag}${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `tenet-bench-${prefix}-`));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  cleanup.add(`delete namespaces ${prefix}-*`, () => deleteByPrefix(prefix));
  return { prefix, dir };
}

/** The benchmark's tenant and network. */
export async function createBenchNetwork(controller: ControllerClient, subnet: string): Promise<void> {
  await controller.createTenant(TENANT);
  await controller.createNetwork(TENANT, { name: NETWORK, subnet });
}

/** The agent API of each lab host, made on first use and closed at cleanup. */
export function agentClients(lab: Lab, timeoutMs: number, cleanup: Cleanup): (host: string) => AgentClient {
  const agents = new Map<string, AgentClient>();
  cleanup.add('close agent clients', () => agents.forEach((a) => a.close()));
  return (host) => {
    const h = lab.state().hosts.find((x) => x.name === host);
    if (!h) throw new Error(`the lab has no host ${host}`);
    if (!agents.has(host)) agents.set(host, new AgentClient(`unix:${h.socket}`, timeoutMs));
    return agents.get(host)!;
  };
}

/** Detached, so Ctrl-C at the terminal reaches only us and the lab goes down before it stops. */
function startController(dir: string, socket: string): ChildProcess {
  const log = openSync(join(dir, 'controller.log'), 'a');
  const child = spawn(process.execPath, [TENET_ENTRY, 'controller', '--data-dir', join(dir, 'data'), '--listen', '', '--socket', socket], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  return child;
}

/** TERM, up to 5 s, then KILL: only this PID, which we started and still hold. */
export async function stopChild(child: ChildProcess): Promise<void> {
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  if (gone() || !child.pid) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => gone() || child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
