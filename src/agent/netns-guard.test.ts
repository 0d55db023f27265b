/**
 * The namespace guard on the real kernel (root): it refuses the host's namespace, the
 * agent's own and every namespace Tenet made, by identity (a bind mount or /proc/PID/ns/net
 * of a process inside is caught too), next to the positive control that a user's namespace
 * resolves. Namespaces carry a fresh prefix and are removed even when a check fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { ExecRunner } from '../datapath/runner.js';
import { MarkerOwnership } from '../datapath/ownership.js';
import { buildAgentApp } from './api.js';
import type { Agent } from './agent.js';
import { namespaceIdentity, NetnsGuard, netnsRequestPath, sameNamespace } from './netns-guard.js';

const isRoot = process.getuid?.() === 0;
const runner = new ExecRunner();
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;

test('request shapes: wrong types and unsafe paths are BAD_REQUEST, names mean /run/netns/NAME', () => {
  assert.equal(netnsRequestPath({ netns: 'web1' }), '/run/netns/web1');
  assert.equal(netnsRequestPath({ netns: '/proc/42/ns/net' }), '/proc/42/ns/net');
  assert.equal(netnsRequestPath({ pid: 42 }), '/proc/42/ns/net');
  const bad = [{ netns: 5 }, { netns: {} }, { netns: ['x'] }, { netns: 'a\nlink del eth0' }, { netns: 'a b' }, { netns: '/run/netns/../../proc/1/ns/net' },
    { netns: 'run/netns/x' }, { netns: `/${'x'.repeat(300)}` }, { netns: 'x\u0000' }, { pid: '1' }, { pid: -1 }, { pid: 1.5 }, {}, { netns: 'a', pid: 1 }];
  for (const req of bad) assert.throws(() => netnsRequestPath(req), code('BAD_REQUEST'), JSON.stringify(req));
});

test('the agent API answers a non-string netns with 400, not 500', async () => {
  const app = buildAgentApp({} as Agent, silentLogger, 'test');
  for (const netns of [5, { a: 1 }, 'x\ny']) {
    const res = await app.inject({ method: 'POST', url: '/v1/endpoints', payload: { tenant: 't', network: 'n', netns } });
    assert.equal(res.statusCode, 400, String(netns));
    assert.equal(res.json().error.code, 'BAD_REQUEST');
  }
  await app.close();
});

test('the guard refuses the host, itself and Tenet-made namespaces by identity', { skip: !isRoot && 'needs root' }, async (t) => {
  const p = `tg${randomBytes(3).toString('hex')}`;
  const [user, host, tenant] = [`${p}-user`, `${p}-host`, `${p}-tenant`];
  const dir = mkdtempSync(join(tmpdir(), 'tenet-guard-'));
  const bind = join(dir, 'bind');
  const sleepers: number[] = [];
  t.after(async () => {
    sleepers.forEach((pid) => process.kill(pid, 'SIGKILL'));
    await runner.run(['umount', bind], { allowFail: true });
    await runner.run(['ip', '-force', '-batch', '-'], { input: [user, host, tenant].map((n) => `netns del ${n}\n`).join(''), allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });
  await runner.run(['ip', '-batch', '-'], { input: [user, host, tenant].map((n) => `netns add ${n}\n`).join('') });
  const owned = new MarkerOwnership(join(dir, 'owned'));
  await owned.intend(tenant);
  await owned.mark(tenant);
  const guard = new NetnsGuard({ ownedIdentities: () => owned.ownedIdentities(), hostPath: `/run/netns/${host}` });

  const ok = await guard.resolve({ netns: user });
  assert.equal(ok.path, `/run/netns/${user}`, 'positive control: a user namespace resolves');
  assert.ok(sameNamespace(ok.identity, await namespaceIdentity(`/run/netns/${user}`)));

  await assert.rejects(guard.resolve({ netns: host }), /host's own/);
  writeFileSync(bind, '');
  await runner.run(['mount', '--bind', `/run/netns/${host}`, bind]);
  await assert.rejects(guard.resolve({ netns: bind }), (e: Error & { code?: string }) => e.code === 'NETNS_FORBIDDEN' && /host's own/.test(e.message), 'a bind mount of the host namespace');
  await assert.rejects(guard.resolve({ netns: '/proc/self/ns/net' }), /agent's own/);
  await assert.rejects(guard.resolve({ pid: process.pid }), /agent's own/);
  await assert.rejects(guard.resolve({ netns: tenant }), /Tenet made/);
  const inside = spawn('ip', ['netns', 'exec', tenant, 'sleep', '30'], { stdio: 'ignore' });
  sleepers.push(inside.pid!);
  await waitForNs(inside.pid!, `/run/netns/${tenant}`);
  await assert.rejects(guard.resolve({ pid: inside.pid }), (e: Error & { code?: string }) => e.code === 'NETNS_FORBIDDEN' && /Tenet made/.test(e.message), '/proc/PID/ns/net of a process in a Tenet namespace');

  const real = new NetnsGuard({ ownedIdentities: async () => [] });
  await assert.rejects(real.resolve({ pid: 1 }), (e: { code?: string }) => e.code === 'NETNS_FORBIDDEN' || e.code === 'NETNS_NOT_FOUND', 'PID 1 is never attachable');
});

test('what is not a network namespace is NETNS_NOT_FOUND with a reason', { skip: !isRoot && 'needs root' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-guard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), 'x');
  mkdirSync(join(dir, 'sub'));
  const guard = new NetnsGuard({ ownedIdentities: async () => [] });
  await assert.rejects(guard.resolve({ netns: join(dir, 'file') }), (e: Error & { code?: string }) => e.code === 'NETNS_NOT_FOUND' && /not a network namespace/.test(e.message));
  await assert.rejects(guard.resolve({ netns: join(dir, 'sub') }), /a directory/);
  await assert.rejects(guard.resolve({ netns: join(dir, 'missing') }), /does not exist/);
  await assert.rejects(guard.resolve({ netns: '/proc/self/ns/uts' }), /a uts namespace, not a network namespace/);
});

test('ownership: a mark holds only while the namespace is the one marked', { skip: !isRoot && 'needs root' }, async (t) => {
  const ns = `to${randomBytes(3).toString('hex')}-a`;
  const dir = mkdtempSync(join(tmpdir(), 'tenet-owned-'));
  t.after(async () => {
    await runner.run(['ip', 'netns', 'del', ns], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const owned = new MarkerOwnership(dir);
  assert.equal(await owned.owns(ns), false, 'no mark, no namespace');
  await owned.intend(ns);
  await runner.run(['ip', 'netns', 'add', ns]);
  assert.equal(await owned.owns(ns), true, 'a pending mark adopts the namespace found under it (a crash mid-create)');
  const id = await namespaceIdentity(`/run/netns/${ns}`);
  assert.deepEqual(await owned.ownedIdentities(), [id]);
  await runner.run(['ip', 'netns', 'del', ns]);
  await runner.run(['ip', 'netns', 'add', ns]);
  assert.equal(await owned.owns(ns), false, 'the same name made again is somebody else\'s');
  assert.deepEqual(await owned.ownedIdentities(), []);
  await owned.mark(ns);
  assert.equal(await owned.owns(ns), true, 'positive control: marked again, it is ours');
  await owned.forget(ns);
  assert.equal(await owned.owns(ns), false);
});

/** `ip netns exec` enters the namespace just after it starts: wait until it has (bounded). */
async function waitForNs(pid: number, nsPath: string): Promise<void> {
  const want = await namespaceIdentity(nsPath);
  for (let i = 0; i < 100; i++) {
    const id = await namespaceIdentity(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (sameNamespace(id, want)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} never entered ${nsPath}`);
}
