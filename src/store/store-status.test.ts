/** Store.status() of the in-process backends: one member, its own leader; closed: unhealthy, never a throw. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryStore } from './memory.js';
import { openSqliteStore } from './sqlite.js';

test('memory: healthy at its revision while open, unhealthy once closed', async () => {
  const store = new MemoryStore();
  await store.create('/k', 'v');
  assert.deepEqual(await store.status(), { backend: 'memory', healthy: true, revision: 1, members: [{ name: 'memory', endpoint: 'memory:', healthy: true, leader: true }] });
  await store.close();
  const closed = await store.status();
  assert.deepEqual([closed.healthy, closed.members[0]?.healthy, closed.error], [false, false, 'the store is closed']);
});

test('sqlite: one member named after its file, healthy at its revision; closed: unhealthy, no throw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-store-status-'));
  try {
    const store = openSqliteStore(dir);
    await store.create('/k', 'v');
    await store.create('/k2', 'v');
    const path = join(dir, 'tenet.db');
    assert.deepEqual(await store.status(), { backend: 'sqlite', healthy: true, revision: 2, members: [{ name: path, endpoint: `file://${path}`, healthy: true, leader: true }] });
    await store.close();
    const closed = await store.status();
    assert.deepEqual([closed.healthy, closed.members[0]?.healthy, closed.members[0]?.error], [false, false, 'the store is closed']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
