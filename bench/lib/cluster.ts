/**
 * Issue 11's benchmarks need Tenet in cluster mode beside the SQLite rig of lib/tenet.ts: a
 * lab of the benchmark's own (unique prefix, temporary run dir) brought up as
 * `tenet lab up --store etcd --controllers N` does (3 etcd members on loopback ports, N
 * controller replicas sharing one CA and admin token, agents given every replica). Cleanup
 * runs `lab down`, then SIGKILLs by PID, command line checked, any process the lab listed
 * that is still there (a failed `down` must not leave an etcd behind).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ControllerClient, type AgentClient } from '../../src/api/client.js';
import { Lab, type LabProcess } from '../../src/lab/lab.js';
import { stopBackground } from './kernel.js';
import type { Cleanup } from './main.js';
import { agentClients, benchWorkspace, createBenchNetwork } from './tenet.js';

export interface ClusterRig {
  prefix: string;
  dir: string;
  lab: Lab;
  /** Every replica's admin socket, as the CLI has it (fails over). */
  controller: ControllerClient;
  /** name (c1, c2), admin socket. */
  controllers: { name: string; socket: string }[];
  agent(host: string): AgentClient;
  /** The lab's processes now (`lab ls`): PIDs to kill. */
  processes(): LabProcess[];
}

export async function startClusterRig(tag: string, hosts: number, controllers: number, subnet: string, cleanup: Cleanup): Promise<ClusterRig> {
  const { prefix, dir } = benchWorkspace(tag, cleanup);
  const lab = new Lab({ prefix, runDir: join(dir, 'run') });
  const seen = new Map<number, string>();
  const remember = () => lab.ls().processes.forEach((p) => p.pid && seen.set(p.pid, p.name));
  cleanup.add(`kill what lab ${prefix} left`, () => killLeftovers(seen, prefix));
  cleanup.add(`lab down ${prefix}`, async () => {
    remember();
    await lab.down();
  });
  try {
    await lab.up(hosts, { store: 'etcd', controllers });
  } finally {
    remember();
  }
  const listing = lab.ls();
  const controller = new ControllerClient(listing.api!, 30_000);
  cleanup.add('close controller client', () => controller.close());
  await createBenchNetwork(controller, subnet);
  const agent = agentClients(lab, 60_000, cleanup);
  cleanup.add('stop background commands', stopBackground);
  const processes = () => {
    remember();
    return lab.ls().processes;
  };
  const ctls = (listing.controllers ?? []).map(({ name, socket }) => ({ name, socket }));
  console.log(`lab ${prefix}: ${hosts} host(s), etcd ${listing.store}, controllers ${ctls.map((c) => c.name).join(', ')}, data in ${dir}`);
  return { prefix, dir, lab, controller, controllers: ctls, agent, processes };
}

/** SIGKILL each PID the lab listed whose command line still names this lab (PIDs are reused). */
function killLeftovers(seen: Map<number, string>, prefix: string): void {
  for (const [pid, name] of seen) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (!cmdline.includes(prefix)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      console.error(`cleanup: ${name} (pid ${pid}) outlived lab down: killed`);
    } catch {
      // gone meanwhile
    }
  }
}

/** "load 16.1 / 16.0 / 15.9": the machine's 1, 5 and 15 minute load averages now. */
export function loadText(): string {
  return `load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')}`;
}
