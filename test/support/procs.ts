/**
 * Test support: the real `tenet` executable as a user runs it, with an isolated controller
 * (temporary data dir and socket) and a unique lab prefix, so tests never touch a real
 * `tenet up` or each other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ControllerClient } from '../../src/api/client.js';
import { waitFor } from '../../src/base/async.js';

export const TENET = new URL('../../src/cmd/tenet.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TenetEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'tenet-e2e-'));
  readonly prefix = `te${randomBytes(2).toString('hex')}`;
  readonly socket = join(this.dir, 'tenet.sock');
  controller?: ChildProcess;

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, TENET_API: `unix:${this.socket}`, TENET_RUN_DIR: join(this.dir, 'run'), TENET_LAB_PREFIX: this.prefix, TENET_LOG_LEVEL: 'warn' };
  }

  async startController(): Promise<void> {
    this.controller = spawn(process.execPath, [TENET, 'controller', '--data-dir', join(this.dir, 'data'), '--listen', '', '--socket', this.socket], {
      env: this.env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const client = new ControllerClient(`unix:${this.socket}`);
    // 30 s: a node start on a 2-core machine at load 15-20 took over 10 s; an early exit fails at once.
    const exited = () => (this.controller!.exitCode !== null ? Promise.reject(new Error(`the controller exited with ${this.controller!.exitCode}`)) : undefined);
    await waitFor(() => exited() ?? client.health().then((h) => h.ok || undefined, () => undefined), 30_000, 'the controller to answer');
    client.close();
  }

  async stopController(): Promise<void> {
    const child = this.controller;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** Runs `tenet ARGS…` and returns what a user would see. */
  tenet(...args: string[]): Promise<CliResult> {
    return this.run([process.execPath, TENET, ...args]);
  }

  /** `tenet ARGS…` with some variables of the environment changed (TENET_LOG_LEVEL). */
  tenetWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
    return this.run([process.execPath, TENET, ...args], env);
  }

  /** Runs any command with this environment; resolves with its exit status and output. */
  run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { env: { ...this.env, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  /** The log of a lab host's agent (every agent process of that host appends to it). */
  agentLog(host: string): string {
    return join(this.env.TENET_RUN_DIR!, 'lab', `${this.prefix}-${host}.log`);
  }

  /** `tenet ARGS…` that must succeed: its stdout, or a failure naming the command and its stderr. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.tenet(...args);
    if (r.code !== 0) throw new Error(`tenet ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Several commands that must succeed, in order (a test's setup). */
  async okAll(commands: string[][]): Promise<void> {
    for (const args of commands) await this.ok(...args);
  }

  async json<T>(...args: string[]): Promise<T> {
    const r = await this.tenet(...args, '-o', 'json');
    if (r.code !== 0) throw new Error(`tenet ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  async destroy(): Promise<void> {
    await this.tenet('lab', 'down');
    await this.stopController();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
