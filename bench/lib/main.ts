/**
 * How every benchmark runs: as root, with one cleanup list that runs exactly once whether
 * the benchmark finishes, throws, or is stopped with Ctrl-C or SIGTERM. Loops call
 * `cleanup.check()` before making anything, so nothing new is built while cleanup runs.
 */
export type CleanupStep = () => Promise<unknown> | unknown;

const STEP_TIMEOUT_MS = 120_000;

export class Cleanup {
  private readonly steps: { what: string; fn: CleanupStep }[] = [];
  private running?: Promise<void>;
  stopped = false;

  /** Steps run last-added first; each is bounded in time, and one failing does not stop the rest. */
  add(what: string, fn: CleanupStep): void {
    this.steps.push({ what, fn });
  }

  check(): void {
    if (this.stopped) throw new Error('stopped');
  }

  run(): Promise<void> {
    this.stopped = true;
    this.running ??= (async () => {
      for (const { what, fn } of [...this.steps].reverse()) {
        try {
          await withTimeout(Promise.resolve().then(fn), STEP_TIMEOUT_MS, what);
        } catch (err) {
          console.error(`cleanup: ${what}: ${message(err)}`);
        }
      }
    })();
    return this.running;
  }
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Runs a benchmark body; exits 0 on success, 1 on failure, 130 when interrupted. */
export function runBench(name: string, body: (cleanup: Cleanup) => Promise<void>): void {
  if (process.getuid?.() !== 0) {
    console.error(`${name}: must run as root (it builds network namespaces); try: sudo node dist/bench/${name}.js`);
    process.exit(1);
  }
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${name}: ${sig}: removing everything this benchmark made…`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  body(cleanup)
    .then(
      () => 0,
      (err) => {
        if (!interrupted) console.error(`${name} failed: ${message(err)}`);
        return 1;
      },
    )
    .then(async (code) => {
      await cleanup.run();
      process.exit(interrupted ? 130 : code);
    });
}

/** `--name N` as a positive integer, else the default; a bad value is a usage error. */
export function intArg(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > max) {
    console.error(`--${name} wants an integer from 1 to ${max}, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}

export function printReproduce(script: string, args: string): void {
  console.log(`reproduce (as root, from the repo): npx tsc -p . && node dist/bench/${script}.js ${args}`.trimEnd());
}
