/**
 * The lab's controller replicas (`lab up --store etcd --controllers N`): real `tenet
 * controller` processes on the lab's etcd, detached like the agents. Each serves its API on
 * a unix socket under the lab directory (lab agents live in host namespaces and cannot reach
 * the root namespace's loopback, only a socket) and on https on a loopback port. Replicas
 * share one CA and one admin token as ADR 023 says: the first makes them, and they are
 * copied into every other replica's data dir before its first start.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { ControllerClient } from '../api/client.js';
import { waitFor } from '../base/async.js';
import { TenetError } from '../model/errors.js';
import { TENET_ENTRY, type ResolvedConfig } from './config.js';
import { freePort } from './etcd.js';
import { logTail, readCmdline } from './procs.js';
import type { LabController } from './state.js';

export const MAX_CONTROLLERS = 5;

export const controllerDataDir = (c: ResolvedConfig, name: string) => `${c.labDir}/${c.prefix}-${name}.data`;
/** `down` finds replicas' data dirs by this even when the state file is lost. */
export const controllerDirPattern = (prefix: string) => new RegExp(`^${prefix}-c\\d+\\.data$`);

export async function planControllers(c: ResolvedConfig, count: number, store: string): Promise<LabController[]> {
  const out: LabController[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `c${i}`;
    const dataDir = controllerDataDir(c, name);
    const socket = `${c.labDir}/${c.prefix}-${name}.sock`;
    const listen = `127.0.0.1:${await freePort()}`;
    const argv = [process.execPath, TENET_ENTRY, 'controller', '--store', store, '--data-dir', dataDir, '--socket', socket, '--listen', listen];
    out.push({ name, argv, dataDir, socket, url: `https://${listen}`, log: `${c.labDir}/${c.prefix}-${name}.log` });
  }
  return out;
}

/** A replica of this lab: `tenet controller` with its data dir under the lab directory. */
export function isLabController(cmdline: string, c: ResolvedConfig): boolean {
  const padded = ` ${cmdline} `;
  return padded.includes(' controller ') && new RegExp(` --data-dir ${c.labDir}/${c.prefix}-c\\d+\\.data `).test(padded);
}

export const controllerAlive = (c: ResolvedConfig, pid: number | undefined) => pid !== undefined && isLabController(readCmdline(pid), c);

/** The CLI's and the agents' address of the lab's controllers: every replica's socket. */
export const controllersAddress = (controllers: LabController[]) => controllers.map((x) => `unix:${x.socket}`).join(',');

/** Before a replica's first start: the first replica's CA and admin token (ADR 023). */
export function shareIdentity(from: LabController, to: LabController): void {
  mkdirSync(`${to.dataDir}/tls`, { recursive: true, mode: 0o700 });
  for (const f of ['tls/ca.crt', 'tls/ca.key', 'admin.token']) copyFileSync(`${from.dataDir}/${f}`, `${to.dataDir}/${f}`);
}

/** Waits until the replica answers on its socket; a replica that exits fails at once with its log. */
export async function waitControllerHealthy(c: ResolvedConfig, ctl: LabController, timeoutMs: number): Promise<void> {
  const client = new ControllerClient(`unix:${ctl.socket}`, 1000);
  let missing = 0;
  const probe = async () => {
    missing = controllerAlive(c, ctl.pid) ? 0 : missing + 1;
    if (missing >= 3) throw new TenetError('LAB_ERROR', `controller ${ctl.name} exited while starting: ${logTail(ctl.log)}`, `see ${ctl.log}`);
    return missing ? undefined : client.health().then((h) => h.ok || undefined, () => undefined);
  };
  try {
    await waitFor(probe, timeoutMs, `controller ${ctl.name}`, 100);
  } catch (err) {
    if (err instanceof TenetError) throw err;
    throw new TenetError('LAB_ERROR', `controller ${ctl.name} did not answer on ${ctl.socket} within ${Math.round(timeoutMs / 1000)} s`, `see ${ctl.log}`);
  } finally {
    client.close();
  }
}
