/**
 * Test support: a real dockerd of the test's own, started by the product's lab code
 * (src/lab/dockerd.ts, harness.md parts A and B): vfs storage, no bridge, no iptables, its
 * own data root, exec root, pidfile, socket and containerd namespace under a temporary
 * directory, so it never touches a system Docker or another test's. It sees the caller's
 * /run/docker/plugins (a test or benchmark may put its own there). A busybox image is
 * made from busybox-static. stop() ends it by its PID, even after a failure, and removes
 * its directories.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { DockerEngine } from '../../src/docker/engine.js';
import { importBusybox, planDockerd, removeDockerdDir, startDockerd, stopDockerd, type DockerdPlan } from '../../src/lab/dockerd.js';

const run = promisify(execFile);
export const BUSYBOX_IMAGE = 'tenet-busybox:test';

export class TestDockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'tdk-'));
  readonly plan: DockerdPlan = planDockerd(this.dir, basename(this.dir), undefined, true);
  readonly socket = this.plan.socket;
  readonly engine = new DockerEngine(this.socket);
  private daemonPid?: number;

  async start(): Promise<void> {
    this.daemonPid = await startDockerd(this.plan, 60_000).catch((err: Error) => {
      throw new Error(`dockerd did not start: ${err.message}\n${this.log()}`);
    });
  }

  /** The docker CLI against this daemon. */
  async docker(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['-H', `unix://${this.socket}`, ...args], { timeout: 60_000 });
    return stdout.trim();
  }

  /** busybox-static as an image: one binary, a symlink per applet. */
  importBusybox(): Promise<void> {
    return importBusybox(this.plan, BUSYBOX_IMAGE);
  }

  /** Stops dockerd (its containers, its containerd) by its PID, and removes its directories. */
  async stop(): Promise<void> {
    await stopDockerd(this.plan, this.daemonPid);
    await removeDockerdDir(this.plan);
  }

  /** Stops dockerd and starts it again (same roots): a daemon restart. */
  async restart(): Promise<void> {
    await stopDockerd(this.plan, this.daemonPid, false);
    await this.start();
  }

  log(): string {
    return existsSync(this.plan.log) ? readFileSync(this.plan.log, 'utf8').slice(-2000) : '';
  }

  /** The PID of a container's init process. */
  async pid(container: string): Promise<number> {
    return (await this.engine.inspect(container)).State.Pid;
  }
}
