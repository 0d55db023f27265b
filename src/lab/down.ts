/**
 * `lab down`: removes everything a lab made, whether or not its state file survived. The
 * kernel and /proc are the truth: namespaces are found by prefix and agents by command
 * line, and the state file only adds what they cannot say (which endpoints to detach).
 * Every step tolerates "already gone", so a second `down` is a quiet no-op.
 */
import { readdirSync, rmSync } from 'node:fs';
import { AgentClient, ControllerClient } from '../api/client.js';
import { isTenetError } from '../model/errors.js';
import { dockerDirPattern, hostNsPattern, labNsPrefix, type ResolvedConfig } from './config.js';
import { planDockerd, removeDockerdDir, stopDockerd, type DockerdPlan } from './dockerd.js';
import { stopCluster } from './cluster.js';
import { deleteNamespaces, listNamespaces } from './netns.js';
import { agentAlive, isAnyLabAgent, readCmdline, scanLabAgents, stopProcesses } from './procs.js';
import { loadState, removeState, type LabState } from './state.js';

export interface DownReport {
  dockerdsStopped: number[];
  agentsStopped: number[];
  /** The lab's own controller replicas and etcd members (`lab up --store etcd`). */
  controllersStopped: number[];
  etcdStopped: number[];
  namespacesDeleted: string[];
  hostsForgotten: string[];
}

export async function labDown(c: ResolvedConfig): Promise<DownReport> {
  const state = loadState(c.statePath);
  if (state) await detachContainers(state);
  // dockerds before agents: their containers' endpoints are released through the plugin.
  const dockerds = labDockerds(c, state);
  const dockerdsStopped = (await Promise.all(dockerds.map(({ plan, pid }) => stopDockerd(plan, pid)))).flat();
  const agentsStopped = await stopAgents(c, state);
  // Its own store goes with the lab, so there is no host to forget on it afterwards.
  const { controllersStopped, etcdStopped } = await stopCluster(c, state);
  for (const { plan } of dockerds) await removeDockerdDir(plan);
  const namespacesDeleted = (await listNamespaces(c.runner)).filter((n) => n.startsWith(labNsPrefix(c.prefix)));
  await deleteNamespaces(c.runner, namespacesDeleted, c.ownership);
  const hostNames = new Set(state?.hosts.map((h) => h.name) ?? []);
  for (const ns of namespacesDeleted) {
    const m = hostNsPattern(c.prefix).exec(ns);
    if (m?.[1]) hostNames.add(m[1]);
  }
  const address = state ? `unix:${state.controllerSocket}` : c.controllerAddress;
  const hostsForgotten = state?.cluster ? [] : await forgetHosts(c, address, [...hostNames]);
  removeFiles(c);
  const report = { dockerdsStopped, agentsStopped, controllersStopped, etcdStopped, namespacesDeleted, hostsForgotten };
  c.logger.info({ prefix: c.prefix, ...report }, 'lab is down');
  return report;
}

/** The recorded dockerds, and any other `<prefix>-hN-docker` directory (a lab whose state was lost). */
function labDockerds(c: ResolvedConfig, state: LabState | undefined): { plan: DockerdPlan; pid?: number }[] {
  const found = new Map<string, { plan: DockerdPlan; pid?: number }>();
  for (const h of state?.hosts ?? []) if (h.docker) found.set(h.docker.dir, { plan: h.docker, pid: h.dockerPid });
  for (const e of listDir(c.labDir).filter((name) => dockerDirPattern(c.prefix).test(name))) {
    const dir = `${c.labDir}/${e}`;
    if (!found.has(dir)) found.set(dir, { plan: planDockerd(dir, e) });
  }
  return [...found.values()];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // no lab directory: nothing there
  }
}

/** Best effort, so the controller releases the addresses at once; deleting the host does too. */
async function detachContainers(state: LabState): Promise<void> {
  for (const ct of state.containers) {
    const host = state.hosts.find((h) => h.name === ct.host);
    if (!host || !agentAlive(host.pid, host.nsPrefix)) continue;
    const agent = new AgentClient(`unix:${host.socket}`, 3000);
    await agent.detach(ct.endpointId).catch(() => undefined);
    agent.close();
  }
}

async function stopAgents(c: ResolvedConfig, state: LabState | undefined): Promise<number[]> {
  const recorded = (state?.hosts ?? []).filter((h) => agentAlive(h.pid, h.nsPrefix)).map((h) => h.pid!);
  const pids = [...new Set([...recorded, ...scanLabAgents(c.prefix)])];
  return stopProcesses(pids, (pid) => isAnyLabAgent(readCmdline(pid), c.prefix));
}

/** DELETE each lab host so the controller drops it and its endpoints from every other agent. */
async function forgetHosts(c: ResolvedConfig, address: string, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const controller = new ControllerClient(address, 3000);
  const forgotten: string[] = [];
  try {
    for (const name of names.sort()) {
      try {
        await controller.deleteHost(name);
        forgotten.push(name);
      } catch (err) {
        if (isTenetError(err) && err.code === 'HOST_NOT_FOUND') continue;
        if (isTenetError(err) && err.code === 'CONTROLLER_UNREACHABLE') break;
        c.logger.warn({ host: name, err: String(err) }, 'lab down: the controller did not forget the host');
      }
    }
  } finally {
    controller.close();
  }
  return forgotten;
}

function removeFiles(c: ResolvedConfig): void {
  removeState(c.statePath);
  const socket = new RegExp(`^${c.prefix}-h\\d+\\.sock$`);
  for (const e of listDir(c.labDir).filter((name) => socket.test(name))) rmSync(`${c.labDir}/${e}`, { force: true });
}
