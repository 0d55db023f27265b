import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runConformance } from './conformance.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';

runConformance('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tenet-store-'));
  let store: SqliteStore = openSqliteStore(dir);
  return {
    store,
    reopen: async () => (store = openSqliteStore(dir)),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** Runs `body` with a fresh data directory, removed afterwards even on failure. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tenet-store-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function logRows(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM log').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('SqliteStore', () => {
  it('compaction deletes superseded rows and keeps one live row per key', () =>
    inTempDir(async (dir) => {
      const store = openSqliteStore(dir);
      try {
        await store.create('/k', '0');
        for (let i = 1; i <= 50; i++) await store.update('/k', `${i}`, i);
        await store.create('/gone', 'x');
        await store.delete('/gone');
        assert.equal(logRows(store.path), 53);
        await store.compact(await store.revision());
        assert.equal(logRows(store.path), 1);
      } finally {
        await store.close();
      }
    }));

  it('refuses a file that is not a database, with the path and a fix', () =>
    inTempDir(async (dir) => {
      await writeFile(join(dir, 'tenet.db'), 'not a database, just some text that is long enough'.repeat(20));
      assert.throws(() => openSqliteStore(dir), /cannot open the store .*tenet\.db: .*check that it is a Tenet database/);
    }));

  it('refuses a data directory that cannot be created, with the path', () =>
    inTempDir(async (dir) => {
      await writeFile(join(dir, 'file'), '');
      assert.throws(() => openSqliteStore(join(dir, 'file', 'data')), /cannot create the data directory .*file\/data/);
    }));
});
