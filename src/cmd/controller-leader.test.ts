/**
 * A real `tenet controller` on SQLite is its own leader (ADR 022): `tenet status` shows the
 * store healthy and the one replica leading. Killed with -9, its lease survives in the file
 * (SQLite restores leases with a full TTL, ADR 010), so a restarted controller follows its
 * dead predecessor until that lease ends, then leads; a clean stop resigns at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ClusterStatus } from '../api/types.js';
import { TENET_SCRIPT } from './version.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-ctlleader-'));
const dataDir = join(dir, 'data');
const socket = join(dir, 'tenet.sock');
const children: ChildProcess[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a controller with a short leader lease; resolves with its id once it serves. */
function startController(): Promise<{ child: ChildProcess; id: string; out: () => string }> {
  const child = spawn(process.execPath, [TENET_SCRIPT, 'controller', '--data-dir', dataDir, '--socket', socket], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TENET_LEADER_LEASE_MS: '2000' },
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /"controller":"([^"]+)"[^\n]*controller serving API/.exec(out);
      if (m) resolve({ child, id: m[1]!, out: () => out });
    });
    child.once('exit', (code) => reject(new Error(`controller exited (${code}): ${out}`)));
  });
}

function status(): Promise<{ code: number; status: ClusterStatus; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TENET_SCRIPT, 'status', '-o', 'json'], { env: { ...process.env, TENET_API: `unix:${socket}` } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('close', (code) => resolve({ code: code ?? 1, status: JSON.parse(stdout || '{}') as ClusterStatus, stderr }));
  });
}

async function untilLeader(id: string): Promise<ClusterStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await status();
    if (r.code === 0 && r.status.leader === id) return r.status;
    if (Date.now() > deadline) throw new Error(`${id} never led: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await done;
}

test('one SQLite controller leads; after kill -9 a restarted one leads once the old lease ends; a clean stop resigns', async () => {
  const first = await startController();
  const s = await untilLeader(first.id);
  assert.deepEqual([s.store.backend, s.store.healthy, s.store.members.length, s.store.members[0]?.name], ['sqlite', true, 1, join(dataDir, 'tenet.db')]);
  assert.deepEqual(s.controllers.map((c) => [c.id, c.leader, c.urls]), [[first.id, true, [`unix:${socket}`]]]);
  assert.match(first.out(), /elected leader/);

  await exited(first.child, 'SIGKILL');
  const second = await startController();
  assert.notEqual(second.id, first.id);
  const s2 = await untilLeader(second.id);
  assert.deepEqual(s2.controllers.map((c) => c.id), [second.id], "the dead replica's registration went with its lease");

  await exited(second.child, 'SIGTERM');
  const third = await startController();
  assert.match(third.out(), /elected leader/, 'the clean stop revoked its lease: the next one leads at its first campaign');
  await exited(third.child, 'SIGTERM');
});
