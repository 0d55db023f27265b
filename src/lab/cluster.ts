/**
 * The lab's own cluster (`lab up --store etcd --controllers N`): three etcd members, then
 * N controller replicas on them; how `down` stops them (by PID, command line checked, also
 * after the state file is lost) and removes their data; and `lab restart e1|c1`, which
 * starts a killed one again with the argv it was first started with.
 */
import { readdirSync, rmSync } from 'node:fs';
import { waitFor } from '../base/async.js';
import { TenetError } from '../model/errors.js';
import type { ResolvedConfig } from './config.js';
import { controllerAlive, controllerDirPattern, controllersAddress, isLabController, MAX_CONTROLLERS, planControllers, shareIdentity, waitControllerHealthy } from './controllers.js';
import { etcdDirPattern, etcdHealth, isLabEtcd, planEtcd } from './etcd.js';
import { launchDetached, readCmdline, stopProcesses } from './procs.js';
import { updateState, type LabCluster, type LabClusterProcess, type LabEtcdMember, type LabState } from './state.js';

/** A loaded 2-core machine can take long to start etcd and node; an early exit fails at once. */
const START_TIMEOUT_MS = 60_000;

export async function planCluster(c: ResolvedConfig, controllers: number): Promise<LabCluster> {
  if (!Number.isInteger(controllers) || controllers < 1 || controllers > MAX_CONTROLLERS) {
    throw new TenetError('LAB_ERROR', `cannot start ${controllers} controllers`, `give --controllers from 1 to ${MAX_CONTROLLERS}`);
  }
  const etcd = await planEtcd(c);
  const store = `etcd://${etcd.map((m) => new URL(m.clientUrl).host).join(',')}`;
  return { store, etcd, controllers: await planControllers(c, controllers, store) };
}

/** Every member, then the first replica (it makes the CA and admin token), then the others with copies. */
export async function startCluster(c: ResolvedConfig, cluster: LabCluster): Promise<void> {
  for (const m of cluster.etcd) await launch(c, m);
  await Promise.all(cluster.etcd.map((m) => waitEtcd(m, 'healthy')));
  c.logger.info({ store: cluster.store }, 'lab etcd is up');
  const [first, ...others] = cluster.controllers;
  await launch(c, first!);
  await waitControllerHealthy(c, first!, START_TIMEOUT_MS);
  for (const ctl of others) {
    shareIdentity(first!, ctl);
    await launch(c, ctl);
  }
  await Promise.all(others.map((ctl) => waitControllerHealthy(c, ctl, START_TIMEOUT_MS)));
  c.logger.info({ controllers: controllersAddress(cluster.controllers) }, 'lab controllers are up');
}

/** Starts one process and records its PID at once, so `down` can stop it whatever happens next. */
async function launch(c: ResolvedConfig, p: LabClusterProcess): Promise<void> {
  p.pid = await launchDetached(p.argv, p.log);
  updateState(c.statePath, (s) => {
    const all: LabClusterProcess[] = [...(s.cluster?.etcd ?? []), ...(s.cluster?.controllers ?? [])];
    all.filter((x) => x.name === p.name).forEach((x) => (x.pid = p.pid));
  });
  c.logger.info({ name: p.name, pid: p.pid, log: p.log }, 'lab process started');
}

/** 'healthy': it has a leader (first start); 'up': it answers (a restart while the others are down). */
async function waitEtcd(m: LabEtcdMember, want: 'healthy' | 'up'): Promise<void> {
  const ok = (h: string) => h === 'healthy' || (want === 'up' && h === 'up');
  try {
    await waitFor(async () => (ok(await etcdHealth(m.clientUrl)) ? true : undefined), START_TIMEOUT_MS, `etcd ${m.name}`, 100);
  } catch {
    throw new TenetError('LAB_ERROR', `etcd ${m.name} was not ${want} on ${m.clientUrl} within ${START_TIMEOUT_MS / 1000} s`, `see ${m.log}`);
  }
}

export const etcdAlive = (c: ResolvedConfig, pid: number | undefined) => pid !== undefined && isLabEtcd(readCmdline(pid), c);

/** `lab restart e1|c2`: stops it if it still runs, starts it with its first argv, waits until it answers. */
export async function restartClusterProcess(c: ResolvedConfig, state: LabState, name: string): Promise<number | undefined> {
  const cluster = state.cluster;
  const member = cluster?.etcd.find((m) => m.name === name);
  const ctl = cluster?.controllers.find((x) => x.name === name);
  if (member) {
    await stopProcesses(member.pid === undefined ? [] : [member.pid], (pid) => etcdAlive(c, pid));
    await launch(c, member);
    await waitEtcd(member, 'up');
    return member.pid;
  }
  if (ctl) {
    await stopProcesses(ctl.pid === undefined ? [] : [ctl.pid], (pid) => controllerAlive(c, pid));
    await launch(c, ctl);
    await waitControllerHealthy(c, ctl, START_TIMEOUT_MS);
    return ctl.pid;
  }
  return undefined;
}

export interface ClusterDownReport {
  controllersStopped: number[];
  etcdStopped: number[];
}

/** Replicas first (they would only log the store going away), then the members; then their data. */
export async function stopCluster(c: ResolvedConfig, state: LabState | undefined): Promise<ClusterDownReport> {
  const scanned = scanProcs();
  const recordedCtl = (state?.cluster?.controllers ?? []).map((x) => x.pid).filter((p): p is number => p !== undefined);
  const ctlPids = [...new Set([...recordedCtl, ...scanned.filter((p) => isLabController(readCmdline(p), c))])];
  const controllersStopped = await stopProcesses(ctlPids, (pid) => controllerAlive(c, pid));
  const recordedEtcd = (state?.cluster?.etcd ?? []).map((m) => m.pid).filter((p): p is number => p !== undefined);
  const etcdPids = [...new Set([...recordedEtcd, ...scanned.filter((p) => isLabEtcd(readCmdline(p), c))])];
  const etcdStopped = await stopProcesses(etcdPids, (pid) => etcdAlive(c, pid));
  removeClusterFiles(c);
  return { controllersStopped, etcdStopped };
}

function scanProcs(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid).map(Number);
}

/** Data dirs and sockets; the logs stay, like the agents' (a failed test reads them). */
function removeClusterFiles(c: ResolvedConfig): void {
  let names: string[] = [];
  try {
    names = readdirSync(c.labDir);
  } catch {
    return; // no lab directory: nothing there
  }
  const socket = new RegExp(`^${c.prefix}-c\\d+\\.sock$`);
  for (const n of names.filter((x) => etcdDirPattern(c.prefix).test(x) || controllerDirPattern(c.prefix).test(x) || socket.test(x))) {
    rmSync(`${c.labDir}/${n}`, { recursive: true, force: true });
  }
}
