/**
 * A persistent `nft -i` per tenant namespace, so a policy change does not pay an `nft` process
 * start (~100 ms on a loaded host, 7 ms for the change itself: docs/adr/013). It sits behind the
 * CommandRunner: `nsenter --net=/run/netns/NS nft -f -` goes to NS's session, everything else
 * runs as before, and callers see the same results and the same CommandError text.
 *
 * How one transaction is sent (nftables 1.0.6, checked by experiment, nft-session.kernel.test):
 * - the script is written to a file and sent as ONE line, `include "FILE"`: nft parses a line
 *   with everything it includes and commits it as one batch, so multi-line scripts stay atomic
 *   (an error at the last line changes nothing);
 * - then a sentinel line that is a syntax error, `tenet-sentinel-N`: nft -i prints nothing on
 *   success and its errors on stderr with no terminator, but it answers every line in order on
 *   the same stream, so everything on stderr before the sentinel's echo is this script's;
 * - nft re-reads its cache when the kernel's generation changed, so changes made by other
 *   processes in between are seen (tested).
 * A session that dies (or cannot start) is replaced on next use; the script it was given is
 * applied once through a fresh `nft -f -` process, as without sessions. A session that does not
 * answer within the timeout is killed and the transaction fails. A session holds its namespace
 * alive, so it is stopped before `ip netns del` of that namespace, when the namespace's inode
 * changed, by a periodic sweep when it vanished by other hands, and on close().
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETNS_DIR } from './observe.js';
import { CommandError, ExecRunner, type CommandResult, type CommandRunner, type RunOptions } from './runner.js';

export interface NftSessionOptions {
  /** A transaction without an answer in this time fails and its process is killed. */
  timeoutMs?: number;
  /** Period of the sweep that stops sessions whose namespace is gone. */
  sweepMs?: number;
  /** Where the scripts' files are written (default: a fresh directory under the OS's tmpdir). */
  dir?: string;
}

/** The session switch: TENET_NFT_SESSION=0 turns sessions off (one `nft -f` per change). */
export function nftSessionsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TENET_NFT_SESSION !== '0';
}

/** `nft -f -` in a tenant namespace: the one command a session takes over. Returns the namespace. */
export function tenantNftNamespace(argv: string[]): string | undefined {
  if (argv.length !== 5 || argv[0] !== 'nsenter' || argv[2] !== 'nft' || argv[3] !== '-f' || argv[4] !== '-') return undefined;
  const prefix = `--net=${NETNS_DIR}/`;
  const ns = argv[1]!.startsWith(prefix) ? argv[1]!.slice(prefix.length) : '';
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(ns) ? ns : undefined;
}

/** `ip netns del NS`: the session must let the namespace go first. */
function deletedNamespace(argv: string[]): string | undefined {
  return argv.length === 4 && argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'del' ? argv[3] : undefined;
}

/**
 * A script directory named after this process (`tenet-nft-<pid>-…`). An agent killed with
 * SIGKILL never removes its own, so each new one first removes those of processes that are gone.
 */
function ownScriptDir(): string {
  for (const name of readdirSync(tmpdir())) {
    const pid = /^tenet-nft-(\d+)-/.exec(name)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return mkdtempSync(join(tmpdir(), `tenet-nft-${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The CommandRunner with sessions: an ExecRunner for everything else (spawns counts them too). */
export class NftSessionRunner implements CommandRunner {
  private readonly sessions = new Map<string, NftSession>();
  private readonly order = new Map<string, Promise<unknown>>();
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly sweep: NodeJS.Timeout;
  /** Transactions applied by a session, and those that fell back to a fresh `nft -f`. */
  readonly stats = { session: 0, fallback: 0 };

  constructor(readonly exec: ExecRunner = new ExecRunner(), private readonly opts: NftSessionOptions = {}) {
    this.ownDir = !opts.dir;
    this.dir = opts.dir ?? ownScriptDir();
    this.sweep = setInterval(() => this.stopVanished(), opts.sweepMs ?? 10_000);
    this.sweep.unref();
  }

  get spawns(): number {
    return this.exec.spawns;
  }

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const ns = tenantNftNamespace(argv);
    if (ns !== undefined) return this.nft(ns, argv, opts);
    const gone = deletedNamespace(argv);
    if (gone !== undefined) await this.stop(gone);
    return this.exec.run(argv, opts);
  }

  /** PIDs of the live sessions' processes, by namespace (tests check none is leaked). */
  pids(): Map<string, number> {
    return new Map([...this.sessions].flatMap(([ns, s]) => (s.pid ? [[ns, s.pid] as [string, number]] : [])));
  }

  pidIn(ns: string): number | undefined {
    const s = this.sessions.get(ns);
    return s?.usable() ? s.pid : undefined;
  }

  async stop(ns: string): Promise<void> {
    const s = this.sessions.get(ns);
    this.sessions.delete(ns);
    await s?.stop();
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.sessions.keys()].map((ns) => this.stop(ns)));
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** One transaction at a time per namespace, fallbacks included: each script assumes the last. */
  private nft(ns: string, argv: string[], opts: RunOptions): Promise<CommandResult> {
    const run = (this.order.get(ns) ?? Promise.resolve()).then(() => this.transaction(ns, argv, opts));
    const tail = run.catch(() => undefined);
    this.order.set(ns, tail);
    void tail.then(() => this.order.get(ns) === tail && this.order.delete(ns));
    return run;
  }

  private async transaction(ns: string, argv: string[], opts: RunOptions): Promise<CommandResult> {
    let session = this.sessions.get(ns);
    if (session && !session.usable()) {
      await this.stop(ns);
      session = undefined;
    }
    if (!session) {
      session = new NftSession(ns, join(this.dir, `${ns}.nft`), this.opts.timeoutMs ?? 15_000);
      this.sessions.set(ns, session);
    }
    const answer = await session.apply(opts.input ?? '');
    if (answer.kind === 'died') {
      // Replaced on next use; this script goes through a process of its own, like without sessions.
      if (this.sessions.get(ns) === session) this.sessions.delete(ns);
      this.stats.fallback++;
      return this.exec.run(argv, opts);
    }
    this.stats.session++;
    const result = { code: answer.kind === 'ok' ? 0 : 1, stdout: '', stderr: answer.stderr };
    if (result.code !== 0 && !opts.allowFail) throw new CommandError(argv, result);
    return result;
  }

  private stopVanished(): void {
    for (const [ns, s] of this.sessions) if (!s.usable()) void this.stop(ns);
  }
}

type Answer = { kind: 'ok' | 'failed'; stderr: string } | { kind: 'died' };

interface Pending {
  token: string;
  resolve(a: Answer): void;
  timer: NodeJS.Timeout;
}

/** One `nft -i` in one namespace; transactions one at a time, in the order they came. */
class NftSession {
  private child?: ChildProcessWithoutNullStreams;
  private readonly inode: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private pending?: Pending;
  private stderr = '';
  private dead = false;
  private seq = 0;
  private readonly nonce = randomBytes(6).toString('hex');

  constructor(readonly ns: string, private readonly file: string, private readonly timeoutMs: number) {
    this.inode = netnsInode(ns);
  }

  get pid(): number | undefined {
    return this.dead ? undefined : this.child?.pid;
  }

  /** False once its process died, or its namespace is gone or is another one by now. */
  usable(): boolean {
    return !this.dead && this.inode !== undefined && netnsInode(this.ns) === this.inode;
  }

  apply(script: string): Promise<Answer> {
    const run = this.queue.then(() => this.transaction(script));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.dead = true;
    const child = this.child;
    this.finish({ kind: 'died' });
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGKILL');
      await exited;
    }
    await unlink(this.file).catch(() => undefined);
  }

  private async transaction(script: string): Promise<Answer> {
    if (this.dead || this.inode === undefined) return { kind: 'died' };
    await writeFile(this.file, script);
    const child = this.child ?? this.start();
    const token = `tenet-sentinel-${this.nonce}-${++this.seq}`;
    const answer = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.finish({ kind: 'failed', stderr: `nft session in ${this.ns}: no answer within ${this.timeoutMs} ms` });
        void this.stop();
      }, this.timeoutMs);
      this.pending = { token, resolve, timer };
    });
    child.stdin.write(`include "${this.file}"\n${token}\n`);
    this.parse();
    return answer;
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('nsenter', [`--net=${NETNS_DIR}/${this.ns}`, 'nft', '-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout.resume(); // nothing Tenet sends prints there; drained so nft never blocks
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.parse();
    });
    child.stdin.on('error', () => undefined); // EPIPE when it died: reported by 'close'
    child.on('error', () => this.died());
    child.on('close', () => this.died());
    return child;
  }

  private died(): void {
    this.dead = true;
    this.finish({ kind: 'died' });
  }

  /** Everything before the sentinel's echo belongs to the pending transaction. */
  private parse(): void {
    const p = this.pending;
    if (!p) return;
    const at = this.stderr.indexOf(`\n${p.token}\n`);
    if (at < 0) return;
    const lines = this.stderr.slice(0, at).split('\n');
    lines.pop(); // the sentinel's own "Error: syntax error" line
    // Its caret line comes next; dropped from the next transaction's text.
    this.stderr = this.stderr.slice(at + p.token.length + 2).replace(/^[ \t]*\^+[ \t]*(\n|$)/, '');
    this.finish(this.judge(stripLeadingCaret(lines).join('\n')));
  }

  /** The text `nft -f -` would have printed: the same location prefix, no "included from" line. */
  private judge(raw: string): Answer {
    const stderr = raw
      .split('\n')
      .filter((l) => !l.startsWith('In file included from <cmdline>'))
      .join('\n')
      .replaceAll(`${this.file}:`, '/dev/stdin:');
    const text = stderr.trim() ? `${stderr.trimEnd()}\n` : '';
    return { kind: /(^|: )Error: /m.test(text) ? 'failed' : 'ok', stderr: text };
  }

  private finish(a: Answer): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(a);
  }
}

/** A caret line left at the head of the buffer before the previous sentinel's caret arrived. */
function stripLeadingCaret(lines: string[]): string[] {
  let i = 0;
  while (i < lines.length && /^[ \t]*\^*[ \t]*$/.test(lines[i]!)) i++;
  return lines.slice(i);
}

function netnsInode(ns: string): number | undefined {
  try {
    return statSync(`${NETNS_DIR}/${ns}`).ino;
  } catch {
    return undefined;
  }
}
