/**
 * Lab containers: a network namespace per container, attached through the host's agent
 * exactly as the Docker and CNI plugins will attach theirs (POST /v1/endpoints on the
 * agent socket), so the lab exercises the real path.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { AgentClient } from '../api/client.js';
import type { CommandResult } from '../datapath/runner.js';
import { isTenetError, TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import { validateName } from '../model/validate.js';
import { containerNs, type ResolvedConfig } from './config.js';
import { configureByDhcp, removeResolv, writeResolv } from './dhcp-client.js';
import { addContainerNamespace, deleteNamespaces, listNamespaces } from './netns.js';
import { loadState, updateState as updateLabState, type LabContainer, type LabHost, type LabState } from './state.js';

export interface RunOptions {
  tenant: string;
  network: string;
  ip?: string;
  mac?: string;
  labels?: Record<string, string>;
  /** Drop the attach's address and get it again from Tenet's DHCP server with busybox udhcpc. */
  dhcp?: boolean;
  /** false: no resolv.conf of its own (the container sees the host's). Default: the network's DNS. */
  resolv?: boolean;
}

export function requireState(c: ResolvedConfig): LabState {
  const state = loadState(c.statePath);
  if (!state) throw new TenetError('LAB_ERROR', `no lab with prefix ${c.prefix} is up`, 'run `tenet lab up --hosts 2` first');
  return state;
}

export function requireContainer(c: ResolvedConfig, name: string): { state: LabState; container: LabContainer; host?: LabHost } {
  const state = requireState(c);
  const container = state.containers.find((ct) => ct.name === name);
  if (!container) {
    const known = state.containers.map((ct) => ct.name).join(', ') || 'none';
    throw new TenetError('LAB_ERROR', `no lab container named ${name} (containers: ${known})`, 'create it with `tenet lab run HOST NAME --tenant T --net N`');
  }
  return { state, container, host: state.hosts.find((h) => h.name === container.host) };
}

/** Re-reads the file under its lock: another `tenet lab run` may be writing it too. */
function updateState(c: ResolvedConfig, change: (s: LabState) => void): void {
  if (!updateLabState(c.statePath, change)) requireState(c);
}

export async function labRun(c: ResolvedConfig, hostName: string, name: string, opts: RunOptions): Promise<Endpoint> {
  const state = requireState(c);
  validateName('container', name);
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host) {
    const known = state.hosts.map((h) => h.name).join(', ');
    throw new TenetError('LAB_ERROR', `the lab has no host ${hostName}`, `pick one of ${known}`);
  }
  const ns = containerNs(c.prefix, name);
  if (state.containers.some((ct) => ct.name === name) || (await listNamespaces(c.runner)).includes(ns)) {
    throw new TenetError('LAB_ERROR', `a lab container named ${name} exists already`, `pick another name, or remove it with \`tenet lab rm ${name}\``);
  }
  await addContainerNamespace(c.runner, ns);
  const agent = new AgentClient(`unix:${host.socket}`);
  try {
    // The container's name is the endpoint's name too (unique in its network, as DNS will want).
    const req = { tenant: opts.tenant, network: opts.network, netns: `/run/netns/${ns}`, ifname: 'eth0', ip: opts.ip, mac: opts.mac, name, labels: opts.labels };
    const ep = await agent.attach(req);
    if (opts.dhcp) await configureByDhcp(c.runner, c.labDir, ns).catch(async (err) => {
      await agent.remove(ep.id).catch(() => undefined);
      removeResolv(ns);
      throw err;
    });
    else if (opts.resolv !== false) writeResolv(ns, ep);
    const record: LabContainer = { name, host: host.name, netns: ns, tenant: ep.tenant, network: ep.network, endpointId: ep.id, ip: ep.ip, prefixLen: ep.prefixLen };
    updateState(c, (s) => s.containers.push(record));
    c.logger.info({ container: name, host: host.name, endpoint: ep.id, ip: ep.ip }, 'lab container attached');
    return ep;
  } catch (err) {
    await deleteNamespaces(c.runner, [ns]); // nothing half-applied; the API error goes up unchanged
    throw err;
  } finally {
    agent.close();
  }
}

function execArgv(c: ResolvedConfig, name: string, argv: string[]): string[] {
  const { container } = requireContainer(c, name);
  if (argv.length === 0) throw new TenetError('LAB_ERROR', 'no command to run', `give one after --, e.g. \`tenet lab exec ${name} -- ip addr\``);
  return ['ip', 'netns', 'exec', container.netns, ...argv];
}

/**
 * Runs a command in the container with the terminal attached and returns its exit code.
 * It bypasses the CommandRunner on purpose: the runner captures output, and this is the
 * user's own command, not kernel configuration.
 */
export function labExec(c: ResolvedConfig, name: string, argv: string[]): Promise<number> {
  const full = execArgv(c, name, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: 'inherit' });
    child.once('error', (err) => reject(new TenetError('LAB_ERROR', `cannot run ${argv[0]}: ${err.message}`, 'is iproute2 installed?')));
    // A shell reports death by signal N as 128 + N; do the same.
    child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/** The same with output captured (tests, benchmarks); never throws on a non-zero exit. */
export function labExecCapture(c: ResolvedConfig, name: string, argv: string[]): Promise<CommandResult> {
  return c.runner.run(execArgv(c, name, argv), { allowFail: true });
}

export async function labRm(c: ResolvedConfig, name: string): Promise<void> {
  const { container, host } = requireContainer(c, name);
  if (host) {
    const agent = new AgentClient(`unix:${host.socket}`);
    try {
      await agent.remove(container.endpointId);
    } catch (err) {
      if (!(isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND')) throw err;
    } finally {
      agent.close();
    }
  }
  await deleteNamespaces(c.runner, [container.netns]);
  removeResolv(container.netns);
  updateState(c, (s) => (s.containers = s.containers.filter((ct) => ct.name !== name)));
}
