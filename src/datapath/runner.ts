/**
 * The one way Tenet touches the kernel: every `ip`, `bridge`, `nft`, `sysctl` goes through a
 * CommandRunner, so tests can record the exact text (golden files) and benchmarks can count
 * spawns. Batch whenever you can (`ip -batch -`, `nft -f -`): process spawns dominate latency
 * (research/baseline.md: one `ip` call 1.5 ms, 200 in one batch 32 ms).
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text written to the command's stdin (the batch for `ip -batch -` / `nft -f -`). */
  input?: string;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFail?: boolean;
}

export interface CommandRunner {
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  /**
   * A live process this runner keeps inside network namespace `ns`, if any (the persistent
   * `nft -i` sessions): /proc/PID/net then shows that namespace without a spawn (conntrack.ts).
   */
  pidIn?(ns: string): number | undefined;
}

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly result: CommandResult) {
    super(`${argv.join(' ')} failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

export class ExecRunner implements CommandRunner {
  /** Number of processes spawned; benchmarks read it. */
  spawns = 0;

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.spawns++;
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e) => reject(new CommandError(argv, { code: 127, stdout: '', stderr: e.message })));
      child.on('close', (code) => {
        const result = { code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
        if (result.code !== 0 && !opts.allowFail) reject(new CommandError(argv, result));
        else resolve(result);
      });
      child.stdin.on('error', () => {}); // the command may exit before reading all input
      child.stdin.end(opts.input ?? '');
    });
  }
}

/** Test double: records every command and answers from a script of canned results. */
export class RecordingRunner implements CommandRunner {
  readonly calls: { argv: string[]; input?: string }[] = [];

  constructor(private readonly answer: (argv: string[], input?: string) => CommandResult | undefined = () => undefined) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv, input: opts.input });
    const result = this.answer(argv, opts.input) ?? { code: 0, stdout: '', stderr: '' };
    if (result.code !== 0 && !opts.allowFail) throw new CommandError(argv, result);
    return result;
  }

  /** Everything run so far as shell-like text, one command per line, batches indented. */
  transcript(): string {
    return this.calls
      .map((c) => [c.argv.join(' '), ...(c.input ? c.input.trimEnd().split('\n').map((l) => `  ${l}`) : [])].join('\n'))
      .join('\n');
  }
}
