/**
 * The real controller of a run: `node TREE/dist/src/cmd/tenet.js controller` with the SQLite
 * store in a temporary data dir and an admin unix socket, stopped by its PID. With an etcd
 * store (issue 11's cluster benchmark), a fresh 3-member etcd of its own on loopback and
 * `replicas` controllers on it, each with its own socket; `socket`/`pid` are the first's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerClient } from '../../src/api/client.js';
import { waitFor } from '../../src/base/async.js';
import { startEtcd } from '../../src/store/testing/etcd-server.js';
import type { Cleanup } from '../lib/main.js';
import { stopChild } from '../lib/tenet.js';
import type { Tree } from './tree.js';

export interface RunningController {
  pid: number;
  socket: string;
  /** Every replica's socket (one with SQLite). */
  sockets: string[];
  pids: number[];
  client: ControllerClient;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface StoreChoice {
  store: 'sqlite' | 'etcd';
  /** Controller replicas on etcd (SQLite: always 1). */
  replicas: number;
}

export async function startTreeController(tree: Tree, dir: string, tag: string, cleanup: Cleanup, choice: StoreChoice = { store: 'sqlite', replicas: 1 }): Promise<RunningController> {
  const storeArgs: string[] = [];
  let stopEtcd = async () => undefined as unknown;
  if (choice.store === 'etcd') {
    const etcd = await startEtcd({ members: 3, readyTimeoutMs: 60_000 });
    stopEtcd = () => etcd.stop();
    cleanup.add(`stop etcd of ${tag} (pids ${etcd.members.map((m) => m.pid).join(', ')})`, stopEtcd);
    storeArgs.push('--store', etcd.storeUrl);
  }
  const n = choice.store === 'etcd' ? choice.replicas : 1;
  const replicas: { child: ChildProcess; socket: string; name: string }[] = [];
  for (let i = 1; i <= n; i++) {
    const name = n === 1 ? tag : `${tag}-c${i}`;
    const socket = join(dir, `${name}.sock`);
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [tree.entry, 'controller', ...storeArgs, '--data-dir', join(dir, `${name}-data`), '--listen', '', '--socket', socket], {
      detached: true, // Ctrl-C reaches the benchmark only; it stops the controller itself
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    cleanup.add(`stop controller pid ${child.pid}`, () => stopChild(child));
    replicas.push({ child, socket, name });
  }
  const clients = replicas.map((r) => new tree.ControllerClient(`unix:${r.socket}`, 120_000));
  cleanup.add('close controller clients', () => clients.forEach((c) => c.close()));
  for (const [i, c] of clients.entries()) {
    await waitFor(() => c.health().then((h) => h.ok || undefined, () => undefined), 60_000, `the controller (log: ${dir}/${replicas[i]!.name}.log)`, 50);
  }
  const gone = (r: (typeof replicas)[number]) => r.child.exitCode !== null || r.child.signalCode !== null;
  return {
    pid: replicas[0]!.child.pid!,
    socket: replicas[0]!.socket,
    sockets: replicas.map((r) => r.socket),
    pids: replicas.map((r) => r.child.pid!),
    client: clients[0]!,
    exited: () => replicas.some(gone),
    stop: async () => {
      await Promise.all(replicas.map((r) => stopChild(r.child)));
      await stopEtcd();
    },
  };
}
