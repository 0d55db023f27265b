/**
 * The lab's record of what it made, rewritten after every step of `up`, `run` and `rm` so
 * that `down` can undo a lab whose builder crashed. It is a convenience, not the truth:
 * `down` also finds namespaces by prefix and agents by their command line.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostPlan } from './config.js';

export interface LabHost extends HostPlan {
  /** PID of the agent's node process, once started. */
  pid?: number;
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

/** Write-then-rename, so a crash leaves the old state or the new one, never half a file. */
export function saveState(path: string, state: LabState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.tmp`, { force: true });
}
