/**
 * Lab state under concurrency (issue #5: 16 concurrent `tenet lab run` shared one temporary
 * file and one failed with ENOENT on rename). 16 processes each add containers at once and
 * every record lands; a lock left by a dead process is taken over.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadState, saveState, updateState, type LabState } from './state.js';

const STATE_MODULE = new URL('./state.js', import.meta.url).href;

function fresh(dir: string): string {
  const path = join(dir, 'state.json');
  const state: LabState = { version: 1, prefix: 'tt', controllerSocket: '/x', underlayNs: 'tt-ul', underlayCidr: '10.99.0.0/24', createdAt: '', hosts: [], containers: [] };
  saveState(path, state);
  return path;
}

const container = (name: string) => ({ name, host: 'h1', netns: `tt-c-${name}`, tenant: 't', network: 'n', endpointId: name, ip: '10.0.0.2', prefixLen: 24 });

test('16 processes adding containers at once: every record lands, no temporary file is left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-labstate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = fresh(dir);
  const script = `
    const { updateState } = await import(${JSON.stringify(STATE_MODULE)});
    for (let i = 0; i < 10; i++) {
      const ok = updateState(${JSON.stringify(path)}, (s) => s.containers.push({ name: process.argv[1] + '-' + i }));
      if (!ok) process.exit(3);
    }`;
  const runs = Array.from({ length: 16 }, (_, i) =>
    new Promise<number | null>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', script, `p${i}`], { stdio: 'inherit' }).on('close', resolve)),
  );
  assert.deepEqual(await Promise.all(runs), Array(16).fill(0), 'every writer succeeded');
  const names = loadState(path)!.containers.map((c) => c.name).sort();
  assert.equal(names.length, 160);
  assert.equal(new Set(names).size, 160);
  assert.deepEqual(readdirSync(dir), ['state.json'], 'no lock or temporary file is left behind');
});

test('in one process, interleaved async updates all land', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-labstate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = fresh(dir);
  await Promise.all(Array.from({ length: 16 }, async (_, i) => {
    await new Promise((r) => setImmediate(r));
    updateState(path, (s) => s.containers.push(container(`c${i}`)));
  }));
  assert.equal(loadState(path)!.containers.length, 16);
});

test('a lock left by a dead process is taken over; no state means no write', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-labstate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = fresh(dir);
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  writeFileSync(`${path}.lock`, `${dead.stdout.trim()}\n`);
  assert.ok(updateState(path, (s) => s.containers.push(container('after-crash'))));
  assert.deepEqual(loadState(path)!.containers.map((c) => c.name), ['after-crash']);
  assert.ok(!existsSync(`${path}.lock`));
  assert.equal(updateState(join(dir, 'none.json'), () => assert.fail('no state to change')), undefined);
});
