/**
 * `lab restart HOST`: stop a host's agent and start it again, as an upgrade or a crash would
 * (`lab restart e1|c2` does the same for an etcd member or controller replica: cluster.ts).
 * Workloads keep their connectivity meanwhile: the agent never flushes the kernel, and the
 * new one finds the datapath as the old one left it (docs/adr/002).
 */
import { TenetError } from '../model/errors.js';
import { restartClusterProcess } from './cluster.js';
import type { ResolvedConfig } from './config.js';
import { requireState } from './containers.js';
import { agentAlive, stopProcesses } from './procs.js';
import { startAgent, waitHealthy } from './up.js';

export async function labRestartAgent(c: ResolvedConfig, hostName: string): Promise<number> {
  const state = requireState(c);
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host) {
    const pid = await restartClusterProcess(c, state, hostName);
    if (pid !== undefined) return pid;
    const names = [...state.hosts, ...(state.cluster?.etcd ?? []), ...(state.cluster?.controllers ?? [])].map((x) => x.name);
    throw new TenetError('LAB_ERROR', `the lab has no host or process ${hostName}`, `pick one of ${names.join(', ')}`);
  }
  if (host.pid !== undefined) await stopProcesses([host.pid], (pid) => agentAlive(pid, host.nsPrefix));
  await startAgent(c, state, host);
  await waitHealthy(c, host);
  return host.pid!;
}
