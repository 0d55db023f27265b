/**
 * Test support: a real dockerd of the test's own (harness.md part A): vfs storage, no
 * bridge, no iptables, its own data root, exec root, pidfile and socket under a temporary
 * directory, so it never touches a system Docker or another test's. A busybox image is
 * made from busybox-static with `docker import`. stop() ends it by its PID, even after a
 * failure, and removes its directories.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../src/base/async.js';
import { DockerEngine } from '../../src/docker/engine.js';

const run = promisify(execFile);
export const BUSYBOX_IMAGE = 'tenet-busybox:test';

export class TestDockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'tdk-'));
  readonly socket = join(this.dir, 'docker.sock');
  readonly engine = new DockerEngine(this.socket);
  private proc?: ChildProcess;

  async start(): Promise<void> {
    for (const d of ['data', 'exec']) mkdirSync(join(this.dir, d), { recursive: true });
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const argv = ['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '--pidfile', join(this.dir, 'dockerd.pid'), '-H', `unix://${this.socket}`];
    const flags = ['--storage-driver=vfs', '--iptables=false', '--ip-masq=false', '--bridge=none', '--containerd-namespace', `tdk${process.pid}`];
    this.proc = spawn('dockerd', [...argv, ...flags], { stdio: ['ignore', log, log] });
    await waitFor(() => (this.proc!.exitCode !== null ? Promise.reject(new Error(`dockerd exited: ${this.log()}`)) : this.engine.listContainers().then(() => true, () => undefined)), 30_000, 'dockerd to answer', 200);
  }

  /** The docker CLI against this daemon. */
  async docker(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['-H', `unix://${this.socket}`, ...args], { timeout: 60_000 });
    return stdout.trim();
  }

  /** busybox-static as an image: one binary, a symlink per applet. */
  async importBusybox(): Promise<void> {
    const root = join(this.dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    const { stdout } = await run('/bin/busybox', ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) symlinkSync('busybox', join(root, 'bin', applet));
    await run('sh', ['-c', `tar -C ${root} -c . | docker -H unix://${this.socket} import -c 'ENV PATH=/bin' - ${BUSYBOX_IMAGE}`]);
  }

  /** Stops dockerd (and with it its containerd and containers) by its PID; SIGKILL after 20 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await run('sh', ['-c', `grep -o ' ${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Kills dockerd and starts it again (same roots): a daemon restart as a crash would do it. */
  async restart(): Promise<void> {
    const p = this.proc!;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    await this.start();
  }

  log(): string {
    const path = join(this.dir, 'dockerd.log');
    return existsSync(path) ? readFileSync(path, 'utf8').slice(-2000) : '';
  }

  /** The PID of a container's init process. */
  async pid(container: string): Promise<number> {
    return (await this.engine.inspect(container)).State.Pid;
  }
}
