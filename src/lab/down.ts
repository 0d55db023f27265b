/**
 * `lab down`: removes everything a lab made, whether or not its state file survived. The
 * kernel and /proc are the truth: namespaces are found by prefix and agents by command
 * line, and the state file only adds what they cannot say (which endpoints to detach).
 * Every step tolerates "already gone", so a second `down` is a quiet no-op.
 */
import { readdirSync, rmSync } from 'node:fs';
import { AgentClient, ControllerClient } from '../api/client.js';
import { isTenetError } from '../model/errors.js';
import { hostNsPattern, labNsPrefix, type ResolvedConfig } from './config.js';
import { deleteNamespaces, listNamespaces } from './netns.js';
import { agentAlive, isAnyLabAgent, readCmdline, scanLabAgents, stopProcesses } from './procs.js';
import { loadState, removeState, type LabState } from './state.js';

export interface DownReport {
  agentsStopped: number[];
  namespacesDeleted: string[];
  hostsForgotten: string[];
}

export async function labDown(c: ResolvedConfig): Promise<DownReport> {
  const state = loadState(c.statePath);
  if (state) await detachContainers(state);
  const agentsStopped = await stopAgents(c, state);
  const namespacesDeleted = (await listNamespaces(c.runner)).filter((n) => n.startsWith(labNsPrefix(c.prefix)));
  await deleteNamespaces(c.runner, namespacesDeleted, c.ownership);
  const hostNames = new Set(state?.hosts.map((h) => h.name) ?? []);
  for (const ns of namespacesDeleted) {
    const m = hostNsPattern(c.prefix).exec(ns);
    if (m?.[1]) hostNames.add(m[1]);
  }
  const address = state ? `unix:${state.controllerSocket}` : c.controllerAddress;
  const hostsForgotten = await forgetHosts(c, address, [...hostNames]);
  removeFiles(c);
  c.logger.info({ prefix: c.prefix, agentsStopped, namespacesDeleted, hostsForgotten }, 'lab is down');
  return { agentsStopped, namespacesDeleted, hostsForgotten };
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
  let entries: string[] = [];
  try {
    entries = readdirSync(c.labDir);
  } catch {
    return; // no lab directory: nothing to remove
  }
  for (const e of entries.filter((name) => socket.test(name))) rmSync(`${c.labDir}/${e}`, { force: true });
}
