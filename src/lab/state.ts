/**
 * The lab's record of what it made, rewritten after every step of `up`, `run` and `rm` so
 * that `down` can undo a lab whose builder crashed. It is a convenience, not the truth:
 * `down` also finds namespaces by prefix and agents by their command line.
 *
 * Many `tenet lab run` may change it at once (issue #5: 16 concurrent runs shared one
 * temporary file, and one failed with ENOENT on rename, leaving an endpoint whose namespace
 * was deleted). So every writer uses its own temporary file, and a read-modify-write
 * (updateState) holds an exclusive lock file, `<state>.lock`, holding the holder's PID: made
 * with O_EXCL, taken over when its holder is dead, waited for at most LOCK_WAIT_MS.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { TenetError } from '../model/errors.js';
import type { HostPlan } from './config.js';

export const LOCK_WAIT_MS = 30_000;

export interface LabHost extends HostPlan {
  /** PID of the agent's node process, once started. */
  pid?: number;
  /** PID of the host's dockerd (`lab up --docker`), once it answers. */
  dockerPid?: number;
  /** The image `lab up --docker` imported into it, if busybox-static was there to import. */
  dockerImage?: string;
}

export interface LabContainer {
  name: string;
  host: string;
  netns: string;
  tenant: string;
  network: string;
  endpointId: string;
  ip: string;
  prefixLen: number;
}

export interface LabState {
  version: 1;
  prefix: string;
  controllerSocket: string;
  underlayNs: string;
  underlayCidr: string;
  createdAt: string;
  hosts: LabHost[];
  containers: LabContainer[];
  /** `lab up --store etcd`: the etcd members and controller replicas the lab started itself. */
  cluster?: LabCluster;
}

/** A process of the lab's own cluster: how it was started, so `lab restart NAME` can start it again. */
export interface LabClusterProcess {
  /** `e1`…, `c1`…: unique in the lab, never a host name. */
  name: string;
  argv: string[];
  dataDir: string;
  log: string;
  /** Absent until started. */
  pid?: number;
}

export interface LabEtcdMember extends LabClusterProcess {
  clientUrl: string;
  peerUrl: string;
}

export interface LabController extends LabClusterProcess {
  /** Its API socket: the lab agents (in host namespaces) and the CLI reach it here. */
  socket: string;
  /** Its https listener on loopback (shared CA and admin token, ADR 023). */
  url: string;
}

export interface LabCluster {
  /** The controllers' --store: etcd://127.0.0.1:p1,… */
  store: string;
  etcd: LabEtcdMember[];
  controllers: LabController[];
}

/** The state, or undefined when there is none or it is unreadable (a crash mid-write). */
export function loadState(path: string): LabState | undefined {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as LabState;
    return state.version === 1 && Array.isArray(state.hosts) && Array.isArray(state.containers) ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Write-then-rename, so a crash leaves the old state or the new one, never half a file; the
 * temporary file is this writer's own, so concurrent writers never rename each other's.
 */
export function saveState(path: string, state: LabState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Reads, changes and writes the state under the lock, so concurrent changes all land.
 * Returns the new state, or undefined (and changes nothing) when there is none.
 */
export function updateState(path: string, change: (s: LabState) => void): LabState | undefined {
  return withStateLock(path, () => {
    const state = loadState(path);
    if (!state) return undefined;
    change(state);
    saveState(path, state);
    return state;
  });
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.lock`, { force: true });
}

export function withStateLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; !tryLock(lock); attempt++) {
    if (Date.now() > deadline) {
      throw new TenetError('LAB_ERROR', `the lab state ${path} stayed locked by PID ${readHolder(lock) ?? '?'}`, `if no tenet lab command is running, remove ${lock}`);
    }
    sleepSync(Math.min(5 + attempt, 50));
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = readHolder(lock);
  if (holder !== undefined && !isAlive(holder)) takeOver(lock, holder);
  return false;
}

/**
 * Moves a dead holder's lock aside (rename is atomic: of several waiters one wins). If what
 * was moved turns out to be a live holder's fresh lock, it is put back.
 */
function takeOver(lock: string, dead: number): void {
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // another waiter moved it first
  }
  if (readHolder(aside) !== dead) {
    try {
      linkSync(aside, lock);
    } catch {
      // a third writer holds the lock now; the moved one's holder will see its lock gone and
      // finish anyway: no worse than before locking existed, and only after a crash
    }
  }
  rmSync(aside, { force: true });
}

function readHolder(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** The lab's state functions are synchronous; a short blocking wait keeps them so. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
