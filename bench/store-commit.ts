/**
 * Store commit cost (issue 6, ADR 010): what one acknowledged SQLite write costs with
 * synchronous=FULL (fsync of the WAL at every commit) against NORMAL (no fsync at commit; the
 * WAL is synced at checkpoints), both in WAL mode, in the same run. better-sqlite3 commits on
 * the event loop, so a commit's latency is also how long the controller's loop is blocked.
 * Beside them, the cost of a lease keep-alive, which is what a heartbeat became: no disk.
 *
 * Rounds alternate which mode goes first, so drift on this shared machine hits both alike.
 * Each round opens a fresh store in a temporary directory on the same disk as /tmp and makes
 * `--commits` sequential writes of an endpoint-sized value (~600 bytes). Figures are printed,
 * never asserted.
 *
 *   node dist/bench/store-commit.js [--commits 2000] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatTable } from '../src/base/table.js';
import { openSqliteStore, SqliteStore } from '../src/store/sqlite.js';
import { intArg } from './lib/main.js';
import { fmt, percentile } from './lib/stats.js';

type Mode = 'FULL' | 'NORMAL';
const VALUE = JSON.stringify({ id: 'x'.repeat(36), labels: { app: 'web', tier: 'front' }, pad: 'p'.repeat(480) });
const LEASES = 1000;

interface Round {
  commitsPerS: number;
  latencies: number[];
}

/** One round: a fresh store, `commits` sequential creates, each timed alone. */
async function commitRound(mode: Mode, commits: number): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-commit-'));
  const store = new SqliteStore(join(dir, 'tenet.db'), { synchronous: mode });
  try {
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < commits; i++) {
      const t0 = performance.now();
      const res = await store.create(`/bench/${i}`, VALUE);
      latencies.push(performance.now() - t0);
      if (!res.ok) throw new Error(`create /bench/${i} failed`);
    }
    return { commitsPerS: commits / ((performance.now() - start) / 1000), latencies };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keep-alives of `LEASES` leases, round robin: what one host's heartbeat costs the store. */
async function keepAliveRate(rounds: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-lease-'));
  const store = openSqliteStore(dir);
  try {
    const ids = [];
    for (let i = 0; i < LEASES; i++) ids.push((await store.grant(60_000)).id);
    const start = performance.now();
    for (let r = 0; r < rounds * 100; r++) for (const id of ids) await store.keepAlive(id);
    return (rounds * 100 * LEASES) / ((performance.now() - start) / 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const commits = intArg('commits', 2000, 100_000);
  const rounds = intArg('rounds', 3, 20);
  console.log(`reproduce (from the repo): npx tsc -p . && node dist/bench/store-commit.js --commits ${commits} --rounds ${rounds}`);
  const results: Record<Mode, Round[]> = { FULL: [], NORMAL: [] };
  for (let r = 0; r < rounds; r++) {
    const order: Mode[] = r % 2 === 0 ? ['FULL', 'NORMAL'] : ['NORMAL', 'FULL'];
    for (const mode of order) results[mode].push(await commitRound(mode, commits));
  }
  const rows = (Object.keys(results) as Mode[]).map((mode) => {
    const all = results[mode].flatMap((round) => round.latencies);
    const rates = results[mode].map((round) => fmt(round.commitsPerS, 0)).join(' / ');
    return [`WAL, synchronous=${mode}`, rates, fmt(percentile(all, 50), 3), fmt(percentile(all, 99), 3), fmt(Math.max(...all), 2)];
  });
  console.log(formatTable(['store', 'commits/s (each round)', 'p50 ms', 'p99 ms', 'max ms'], rows));
  console.log(`lease keep-alives (${LEASES} leases, in memory, no disk): ${fmt(await keepAliveRate(rounds), 0)}/s`);
}

main().catch((err: unknown) => {
  console.error(`store-commit failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
