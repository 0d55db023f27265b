/**
 * The child process of sqlite-durability.test.ts: opens the SQLite store in the directory it
 * is given and writes keys until it is killed, printing a line as soon as each write is
 * acknowledged (stdout to a pipe is synchronous on Linux, so a printed line was acknowledged
 * before anything that follows it). The parent kill -9s it mid-stream and checks that every
 * printed write is in the reopened store. Keys on odd numbers are bound to a lease granted
 * first, so the lease and its keys are checked too.
 *
 *   node dist/src/store/sqlite-durability-writer.js DIR
 */
import { openSqliteStore } from './sqlite.js';

const VALUE = 'v'.repeat(200);
/** Never reached in a test (it kills the writer far earlier): a bound, not a goal. */
const MAX_WRITES = 1_000_000;

async function main(dir: string): Promise<void> {
  const store = openSqliteStore(dir);
  const lease = await store.grant(600_000);
  process.stdout.write(`lease ${lease.id}\n`);
  for (let i = 0; i < MAX_WRITES; i++) {
    const res = await store.create(`/d/${i}`, VALUE, i % 2 === 1 ? lease.id : undefined);
    if (!res.ok) throw new Error(`create /d/${i} was refused`);
    process.stdout.write(`ack /d/${i} ${res.revision}\n`);
  }
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  console.error(`durability writer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
