/**
 * The one real controller of a run: `node TREE/dist/src/cmd/tenet.js controller` with the
 * SQLite store in a temporary data dir and an admin unix socket, stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerClient } from '../../src/api/client.js';
import { waitFor } from '../../src/base/async.js';
import type { Cleanup } from '../lib/main.js';
import { stopChild } from '../lib/tenet.js';
import type { Tree } from './tree.js';

export interface RunningController {
  pid: number;
  socket: string;
  client: ControllerClient;
  exited(): boolean;
  stop(): Promise<void>;
}

export async function startTreeController(tree: Tree, dir: string, tag: string, cleanup: Cleanup): Promise<RunningController> {
  const socket = join(dir, `${tag}.sock`);
  const log = openSync(join(dir, `${tag}.log`), 'a');
  const child = spawn(process.execPath, [tree.entry, 'controller', '--data-dir', join(dir, `${tag}-data`), '--listen', '', '--socket', socket], {
    detached: true, // Ctrl-C reaches the benchmark only; it stops the controller itself
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const stop = () => stopChild(child);
  cleanup.add(`stop controller pid ${child.pid}`, stop);
  const client = new tree.ControllerClient(`unix:${socket}`, 120_000);
  cleanup.add('close controller client', () => client.close());
  await waitFor(() => client.health().then((h) => h.ok || undefined, () => undefined), 20_000, `the controller (log: ${dir}/${tag}.log)`, 50);
  return { pid: child.pid!, socket, client, exited: () => child.exitCode !== null || child.signalCode !== null, stop };
}
