/**
 * `lab up`: the underlay, the host namespaces, then one real agent per host. The state file
 * is written before the first kernel change and after each step, and a failure tears the
 * lab down again (agent logs are kept), so nothing is left half-built.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { AgentClient, ControllerClient } from '../api/client.js';
import { waitFor } from '../base/async.js';
import { formatCidr } from '../base/cidr.js';
import { CommandError } from '../datapath/runner.js';
import { isTenetError, TenetError } from '../model/errors.js';
import { labNsPrefix, MAX_HOSTS, planHost, planHostDockerd, underlayNs, type ResolvedConfig } from './config.js';
import { BUSYBOX_BINARY, importBusybox, LAB_IMAGE, startDockerd } from './dockerd.js';
import { planCluster, startCluster } from './cluster.js';
import { controllersAddress } from './controllers.js';
import { labDown } from './down.js';
import { addNamespaces, buildUnderlay, listNamespaces } from './netns.js';
import { agentAlive, isLabAgent, launchDetached, logTail } from './procs.js';
import { saveState, updateState, type LabHost, type LabState } from './state.js';

const execTool = promisify(execFile);

export interface UpOptions {
  /** Each host also runs its own dockerd, and its agent serves that daemon (harness.md B). */
  docker?: boolean;
  /** 'etcd': the lab starts its own 3-member etcd and `controllers` replicas on it (cluster.ts). */
  store?: 'etcd';
  /** How many controller replicas with `store` (default 2). */
  controllers?: number;
}

export async function labUp(c: ResolvedConfig, count: number, opts: UpOptions = {}): Promise<LabState> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new TenetError('LAB_ERROR', `cannot make a lab of ${count} hosts`, `give --hosts from 1 to ${MAX_HOSTS}`);
  }
  await ensureNotUp(c);
  const cluster = opts.store === 'etcd' ? await planCluster(c, opts.controllers ?? 2) : undefined;
  if (!cluster) await checkController(c);
  if (opts.docker) await checkDockerTools();
  const hosts = Array.from({ length: count }, (_, i) => planHost(c, i + 1));
  if (opts.docker) for (const h of hosts) h.docker = planHostDockerd(c, h);
  if (cluster) for (const h of hosts) h.controller = controllersAddress(cluster.controllers);
  const state: LabState = {
    version: 1,
    prefix: c.prefix,
    controllerSocket: cluster ? cluster.controllers[0]!.socket : c.controllerSocket,
    underlayNs: underlayNs(c.prefix),
    underlayCidr: formatCidr(c.underlay),
    createdAt: new Date().toISOString(),
    hosts,
    containers: [],
    ...(cluster ? { cluster } : {}),
  };
  mkdirSync(c.labDir, { recursive: true });
  saveState(c.statePath, state);
  try {
    if (cluster) await startCluster(c, cluster);
    await addNamespaces(c.runner, [state.underlayNs, ...hosts.map((h) => h.netns)], c.ownership);
    await buildUnderlay(c.runner, state.underlayNs, hosts, c.underlay.prefixLen);
    c.logger.info({ prefix: c.prefix, hosts: count }, 'lab underlay and hosts are up');
    await startAgents(c, state);
    if (opts.docker) await startDockerds(c, state);
    return state;
  } catch (err) {
    c.logger.warn({ prefix: c.prefix, err: String(err) }, 'lab up failed; removing what it made');
    await labDown(c).catch(() => undefined);
    throw asLabError(err);
  }
}

async function ensureNotUp(c: ResolvedConfig): Promise<void> {
  const leftovers = (await listNamespaces(c.runner)).filter((n) => n.startsWith(labNsPrefix(c.prefix)));
  if (existsSync(c.statePath) || leftovers.length > 0) {
    const what = existsSync(c.statePath) ? c.statePath : `namespaces ${leftovers.join(', ')}`;
    throw new TenetError('LAB_ERROR', `a lab with prefix ${c.prefix} is already up (${what})`, 'run `tenet lab down` first');
  }
}

/** Fails before anything is built: agents without a controller would never become ready. */
async function checkController(c: ResolvedConfig): Promise<void> {
  const client = new ControllerClient(c.controllerAddress, 3000);
  try {
    await client.health();
  } finally {
    client.close();
  }
}

/** Fails before anything is built when the lab could not start a dockerd. */
async function checkDockerTools(): Promise<void> {
  for (const tool of ['dockerd', 'unshare']) {
    const found = await execTool('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false);
    if (!found) throw new TenetError('LAB_ERROR', `lab up --docker needs ${tool}, which is not on the PATH`, 'install docker.io and util-linux (apt-get install docker.io)');
  }
}

/**
 * After the agents: each agent's plugin socket is in its dockerd's plugin dir before that
 * dockerd first looks. The daemons start side by side; each PID is recorded as soon as the
 * daemon answers, so a failure later still lets `down` find it.
 */
async function startDockerds(c: ResolvedConfig, state: LabState): Promise<void> {
  const image = existsSync(BUSYBOX_BINARY) ? LAB_IMAGE : undefined;
  // allSettled: a failure must not send `down` off while another daemon is still starting.
  const results = await Promise.allSettled(
    state.hosts.map(async (h) => {
      h.dockerPid = await startDockerd(h.docker!);
      updateState(c.statePath, (s) => s.hosts.filter((x) => x.name === h.name).forEach((x) => (x.dockerPid = h.dockerPid)));
      if (image) await importBusybox(h.docker!, image);
      h.dockerImage = image;
      updateState(c.statePath, (s) => s.hosts.filter((x) => x.name === h.name).forEach((x) => (x.dockerImage = image)));
      c.logger.info({ host: h.name, pid: h.dockerPid, socket: h.docker!.socket, image: image ?? 'none' }, 'lab dockerd started');
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (!image) c.logger.warn({ binary: BUSYBOX_BINARY }, 'no busybox-static: the lab dockerds have no image (install busybox-static, or docker load one)');
}

async function startAgents(c: ResolvedConfig, state: LabState): Promise<void> {
  for (const h of state.hosts as LabHost[]) await startAgent(c, state, h);
  await Promise.all(state.hosts.map((h) => waitHealthy(c, h)));
}

/** Starts the agent of one host and records its PID (also used by `lab restart`). */
export async function startAgent(c: ResolvedConfig, state: LabState, h: LabHost): Promise<void> {
  const argv = c.agentArgv(h, c);
  // `down` recognises agents by these two tokens; an argv without them could never be stopped.
  if (!isLabAgent(argv.join(' '), h.nsPrefix)) {
    throw new TenetError('LAB_ERROR', `agent command for ${h.name} lacks "agent" and "--ns-prefix ${h.nsPrefix}"`, 'fix the lab agentArgv');
  }
  rmSync(h.socket, { force: true });
  h.pid = await launchDetached(argv, h.log);
  // Only this host's PID: a `lab run` may have added a container since `state` was read.
  updateState(c.statePath, (s) => s.hosts.filter((x) => x.name === h.name).forEach((x) => (x.pid = h.pid))) ?? saveState(c.statePath, state);
  c.logger.info({ host: h.name, pid: h.pid, log: h.log }, 'lab agent started');
}

export async function waitHealthy(c: ResolvedConfig, h: LabHost): Promise<void> {
  const client = new AgentClient(`unix:${h.socket}`, 1000);
  // While `nsenter` execs node, /proc/PID/cmdline can read empty for an instant: only a
  // process missing on several probes in a row has really exited.
  let missing = 0;
  const probe = async () => {
    missing = agentAlive(h.pid, h.nsPrefix) ? 0 : missing + 1;
    if (missing >= 3) {
      throw new TenetError('LAB_ERROR', `the agent of ${h.name} exited while starting: ${logTail(h.log)}`, `see ${h.log}`);
    }
    return missing ? undefined : client.health().then(() => true, () => undefined);
  };
  try {
    await waitFor(probe, c.agentTimeoutMs, `agent ${h.name}`, 100);
  } catch (err) {
    if (isTenetError(err)) throw err;
    const secs = Math.round(c.agentTimeoutMs / 1000);
    throw new TenetError('LAB_ERROR', `the agent of ${h.name} did not answer on ${h.socket} within ${secs} s`, `see ${h.log}`);
  } finally {
    client.close();
  }
}

function asLabError(err: unknown): unknown {
  if (!(err instanceof CommandError)) return err;
  return new TenetError('LAB_ERROR', `building the lab failed: ${err.message}`, 'it was removed again; run as root with iproute2 installed');
}
