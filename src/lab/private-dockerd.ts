/**
 * One real dockerd of the caller's own, on the lab's starter (dockerd.ts, harness.md parts A
 * and B): vfs storage, no bridge, no iptables, its own data root, exec root, pidfile, socket
 * and containerd namespace under a temporary directory, so it never touches a system Docker
 * or another's. Tests (test/support/dockerd.ts) and benchmarks (bench/lib/dockerd.ts) get
 * their daemon here, so there is one way to start, restart and stop a dockerd.
 *
 * `ownPlugins`: the daemon gets its own plugin directory (bound over /run/docker/plugins in
 * its mount namespace), so it finds only the agent whose socket the caller puts there, and no
 * other daemon finds that agent. Without it, it sees the caller's /run/docker/plugins.
 * `netns`: it runs in that network namespace (a lab host's).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { importBusybox, planDockerd, removeDockerdDir, startDockerd, stopDockerd, type DockerdPlan } from './dockerd.js';

export const PRIVATE_BUSYBOX_IMAGE = 'tenet-busybox:test';

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PrivateDockerdOptions {
  ownPlugins?: boolean;
  netns?: string;
}

/** Runs a command to its end (bounded), never throwing: its exit code and output. */
export function runCaptured(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliOutput> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.on('error', (err) => resolve({ code: 1, stdout, stderr: err.message }));
  });
}

export class PrivateDockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'tdk-'));
  readonly plan: DockerdPlan;
  readonly socket: string;
  /** Where the agent's `tenet.sock` goes for this daemon to find it. */
  readonly pluginDir: string;
  private daemonPid?: number;

  constructor(opts: PrivateDockerdOptions = {}) {
    this.plan = planDockerd(this.dir, basename(this.dir), opts.netns, !opts.ownPlugins);
    this.socket = this.plan.socket;
    this.pluginDir = this.plan.pluginDir;
  }

  async start(readyMs = 60_000): Promise<void> {
    this.daemonPid = await startDockerd(this.plan, readyMs).catch((err: Error) => {
      throw new Error(`dockerd did not start: ${err.message}\n${this.log()}`);
    });
  }

  /** The docker CLI against this daemon: its stdout, trimmed; a failure throws (its `stderr` attached). */
  async docker(...args: string[]): Promise<string> {
    const out = await this.cli(...args);
    if (out.code !== 0) throw Object.assign(new Error(`docker ${args.join(' ')} failed: ${out.stderr.trim()}`), out);
    return out.stdout.trim();
  }

  /** The docker CLI against this daemon, its exit code and output as they are (bounded: 60 s). */
  cli(...args: string[]): Promise<CliOutput> {
    return runCaptured('docker', ['-H', `unix://${this.socket}`, ...args]);
  }

  /** busybox-static as an image: one binary, a symlink per applet. */
  importBusybox(tag = PRIVATE_BUSYBOX_IMAGE): Promise<void> {
    return importBusybox(this.plan, tag);
  }

  /** Stops dockerd (its containers, its containerd) by its PID, and removes its directories. */
  async stop(): Promise<void> {
    await stopDockerd(this.plan, this.daemonPid);
    await removeDockerdDir(this.plan);
  }

  /** Stops dockerd and starts it again (same roots): a daemon restart, its containers stopped by dockerd itself. */
  async restart(): Promise<void> {
    await stopDockerd(this.plan, this.daemonPid, false);
    await this.start();
  }

  log(): string {
    return existsSync(this.plan.log) ? readFileSync(this.plan.log, 'utf8').slice(-2000) : '';
  }
}
