/**
 * Test support: a real dockerd of the test's own (harness.md A/B: vfs storage, no bridge, no
 * iptables, its own data root, exec root, pidfile and socket), in a private mount namespace
 * where the test's plugin directory is bind-mounted over /run/docker/plugins, so it finds
 * only its own agent's `tenet` socket; a busybox image imported from busybox-static; and a
 * `tenet up --docker` process. Everything is stopped by PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerEngine } from '../engine.js';

const run = promisify(execFile);
export const IMAGE = 'busybox:tenet';
/** The tenet executable (not imported from cmd: this layer sits below it). */
const TENET_SCRIPT = new URL('../../cmd/tenet.js', import.meta.url).pathname;

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Out> {
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

export async function ensureDockerInstalled(): Promise<void> {
  if (existsSync('/usr/sbin/dockerd') && existsSync('/bin/busybox')) return;
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io', 'busybox-static'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
}

export class Dockerd {
  readonly socket: string;
  readonly plugins: string;
  private pid = 0;

  /** `netns`: run dockerd in this network namespace (a lab host's), entered with nsenter (harness.md B). */
  constructor(readonly dir: string, readonly netns?: string) {
    this.socket = join(dir, 'docker.sock');
    this.plugins = join(dir, 'plugins');
  }

  async start(): Promise<void> {
    for (const d of ['data', 'exec', 'plugins']) mkdirSync(join(this.dir, d), { recursive: true });
    mkdirSync('/run/docker/plugins', { recursive: true });
    const d = this.dir;
    const script = `mount --bind ${d}/plugins /run/docker/plugins && exec ${this.netns ? `nsenter --net=/run/netns/${this.netns} ` : ''}dockerd --data-root ${d}/data --exec-root ${d}/exec --pidfile ${d}/dockerd.pid -H unix://${this.socket} --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none`;
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'ignore'], detached: false });
    this.pid = child.pid ?? 0;
    const engine = new DockerEngine(this.socket, 2000);
    for (let i = 0; i < 150; i++) {
      if (await engine.ping().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`dockerd did not come up; see ${d}`);
  }

  docker(...args: string[]): Promise<Out> {
    return exec('docker', ['-H', `unix://${this.socket}`, ...args]);
  }

  /** busybox from busybox-static, one symlink per applet, imported as IMAGE. */
  async importBusybox(): Promise<void> {
    const root = join(this.dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    await run('cp', ['/bin/busybox', join(root, 'bin', 'busybox')]);
    const { stdout } = await run('/bin/busybox', ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = join(this.dir, 'rootfs.tar');
    await run('tar', ['-C', root, '-cf', tar, '.']);
    const out = await this.docker('import', '-c', 'ENV PATH=/bin', tar, IMAGE);
    if (out.code !== 0) throw new Error(`docker import failed: ${out.stderr}`);
  }

  /** Removes every container, then stops dockerd (and its containerd) by PID. */
  async stop(): Promise<void> {
    const ids = (await this.docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
    if (ids.length) await this.docker('rm', '-f', ...ids);
    const pidFile = join(this.dir, 'dockerd.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : this.pid;
    await stopPid(pid);
  }
}

/** `tenet up --docker` with its own sockets, data and namespace prefix. */
export class TenetUp {
  child?: ChildProcess;
  readonly api: string;

  constructor(readonly dir: string, readonly host: string, readonly nsPrefix: string, readonly dockerd: Dockerd) {
    this.api = `unix:${join(dir, 'ctl.sock')}`;
  }

  async start(): Promise<void> {
    const d = this.dir;
    const args = ['up', '--data-dir', join(d, 'tenet-data'), '--socket', join(d, 'ctl.sock'), '--agent-socket', join(d, 'agent.sock'), '--host', this.host, '--ns-prefix', this.nsPrefix,
      '--state-dir', join(d, 'agent-state'), '--docker', '--docker-socket', this.dockerd.socket, '--docker-plugin-socket', join(this.dockerd.plugins, 'tenet.sock')];
    const child = spawn(process.execPath, [TENET_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c;
        if (out.includes('tenet is up')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`tenet up exited (${code}): ${out.slice(-2000)}`)));
    });
  }

  async stop(): Promise<void> {
    if (this.child?.pid && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }

  tenet(...args: string[]): Promise<Out> {
    return exec(process.execPath, [TENET_SCRIPT, ...args], { TENET_API: this.api, TENET_AGENT: `unix:${join(this.dir, 'agent.sock')}` });
  }
}

export async function stopPid(pid: number): Promise<void> {
  if (!pid) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Polls `check` until it returns a truthy value (bounded); the last value otherwise. */
export async function eventually<T>(check: () => Promise<T>, tries = 60, delayMs = 250): Promise<T> {
  let last = await check();
  for (let i = 0; i < tries && !last; i++) {
    await new Promise((r) => setTimeout(r, delayMs));
    last = await check();
  }
  return last;
}
