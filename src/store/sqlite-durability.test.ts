/**
 * An acknowledged SQLite write survives kill -9 (issue 6, ADR 010): a child process writes
 * keys and prints each acknowledgement; it is killed with SIGKILL mid-stream; the reopened
 * store holds every write the child acknowledged, at its revision, with its lease. Bounded
 * in time: the child is killed after a fixed number of acknowledgements or 20 s.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from './sqlite.js';

const WRITER = fileURLToPath(new URL('./sqlite-durability-writer.js', import.meta.url));
const ROUNDS = 3;
const LIMIT_MS = 20_000;

interface Acked {
  lease?: number;
  writes: { key: string; revision: number }[];
}

/** Runs the writer until it has acknowledged `count` writes (or LIMIT_MS), then SIGKILLs it. */
async function writeAndKill(dir: string, count: number): Promise<Acked> {
  const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: Acked = { writes: [] };
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  // Lines read after the kill still count: each was printed after its write was acknowledged.
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, a, b] = line.split(' ');
    if (what === 'lease') acked.lease = Number(a);
    else acked.writes.push({ key: a!, revision: Number(b) });
    if (acked.writes.length === count) child.kill('SIGKILL');
  }
  clearTimeout(timer);
  assert.equal(await exited, 'SIGKILL', `the writer ended by itself: ${stderr}`);
  return acked;
}

test('every write acknowledged before kill -9 is in the reopened store, with its lease', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tenet-durability-'));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // A fresh store each round, killed at a different point in the stream.
      if (round > 0) await rm(dir, { recursive: true, force: true });
      const acked = await writeAndKill(dir, 200 + Math.floor(Math.random() * 300));
      assert.ok(acked.lease !== undefined && acked.writes.length >= 200, `round ${round}: ${acked.writes.length} acknowledged writes`);
      const store = openSqliteStore(dir);
      try {
        for (const [i, w] of acked.writes.entries()) {
          const kv = await store.get(w.key);
          assert.equal(kv?.modRevision, w.revision, `round ${round}: ${w.key} acknowledged at ${w.revision}, reopened: ${JSON.stringify(kv)}`);
          assert.equal(kv.lease, i % 2 === 1 ? acked.lease : undefined, `${w.key}'s lease`);
        }
        assert.ok((await store.timeToLive(acked.lease)) !== undefined, 'the lease survived');
        assert.ok((await store.revision()) >= acked.writes.at(-1)!.revision);
      } finally {
        await store.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
