/**
 * Test support: `tenet up --docker` (controller and agent in one process, the real
 * executable) with its own sockets, data, namespace prefix and state, serving the Docker
 * plugin to a test's private dockerd (dockerd.ts, made with its own plugin directory); plus
 * the small process helpers the Docker tests share. Stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCaptured, type CliOutput as Out } from '../../src/lab/private-dockerd.js';
import { ensureDockerInstalled, type TestDockerd } from './dockerd.js';
import { TENET } from './procs.js';

export type { Out };

/** Runs a command to its end (bounded), never throwing: its exit code and output. */
export const exec = runCaptured;

/** Polls `check` until it returns a truthy value (bounded); the last value otherwise. */
export async function eventually<T>(check: () => Promise<T>, tries = 60, delayMs = 250): Promise<T> {
  let last = await check();
  for (let i = 0; i < tries && !last; i++) {
    await new Promise((r) => setTimeout(r, delayMs));
    last = await check();
  }
  return last;
}

/** Starts `tenet ARGS` and waits for `ready` in its stdout: the process and the match. */
export function spawnUntil(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [TENET, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`tenet ${args[0]} exited (${code}): ${out.slice(-2000)}`)));
  });
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export class TenetUp {
  child?: ChildProcess;
  readonly api: string;

  constructor(readonly dir: string, readonly host: string, readonly nsPrefix: string, readonly dockerd: TestDockerd) {
    this.api = `unix:${join(dir, 'ctl.sock')}`;
  }

  async start(): Promise<void> {
    const d = this.dir;
    this.child = (await spawnUntil(['up', '--data-dir', join(d, 'tenet-data'), '--socket', join(d, 'ctl.sock'), '--agent-socket', join(d, 'agent.sock'), ...this.agentArgs()], /tenet is up/)).child;
  }

  /** The agent's flags both ways of running it share: its names, state and sockets, and the test's dockerd. */
  protected agentArgs(): string[] {
    const d = this.dir;
    return ['--host', this.host, '--ns-prefix', this.nsPrefix, '--state-dir', join(d, 'agent-state'), '--cni-socket', join(d, 'cni.sock'),
      '--docker', '--docker-socket', this.dockerd.socket, '--docker-plugin-socket', join(this.dockerd.pluginDir, 'tenet.sock')];
  }

  /** A test's `before`: docker installed, the dockerd up with busybox, tenet up, `tenant` made. */
  async setUp(tenant: string): Promise<void> {
    await ensureDockerInstalled();
    await this.dockerd.start();
    await this.dockerd.importBusybox();
    await this.start();
    const out = await this.tenet('tenant', 'create', tenant);
    if (out.code !== 0) throw new Error(`tenant create ${tenant}: ${out.stderr}`);
  }

  /** A test's `after`, even after a failure: dockerd (its containers first), tenet, our namespaces, our directory. */
  async tearDown(): Promise<void> {
    await this.dockerd.stop().catch(() => undefined);
    await this.stop();
    const ns = (await exec('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(this.nsPrefix));
    for (const n of ns) await exec('ip', ['netns', 'del', n]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }

  tenet(...args: string[]): Promise<Out> {
    return exec(process.execPath, [TENET, ...args], { TENET_API: this.api, TENET_AGENT: `unix:${join(this.dir, 'agent.sock')}` });
  }
}
