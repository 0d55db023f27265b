/**
 * The daemons' unix sockets: 0600 whatever the umask, a stale socket replaced, and nothing
 * else ever deleted (a regular file, a live socket), each next to the case that works.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { listenUnix, removeSocket } from './listen.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-listen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real request over the socket (not inject): the socket file is the one served. */
function ping(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ socketPath: path, path: '/ping' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function serve(path: string, group?: string) {
  const app = Fastify();
  app.get('/ping', async () => 'pong');
  await listenUnix(app, path, group);
  return app;
}

test('a socket is created 0600 even under umask 0, in a 0755 run dir it makes', async () => {
  const path = join(dir, 'run', 'a.sock');
  const old = process.umask(0);
  try {
    const app = await serve(path);
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
    assert.ok(lstatSync(path).isSocket());
    assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o755);
    assert.equal(await ping(path), 'pong');
    await app.close();
    removeSocket(path);
  } finally {
    process.umask(old);
  }
});

test('a regular file at the socket path is an error and is never deleted', async () => {
  const path = join(dir, 'file.sock');
  writeFileSync(path, 'precious');
  await assert.rejects(serve(path), (err: any) => err.code === 'SOCKET_IN_USE' && /not a socket/.test(err.message));
  assert.equal(readFileSync(path, 'utf8'), 'precious');
  removeSocket(path); // shutdown cleanup also leaves a non-socket alone
  assert.equal(readFileSync(path, 'utf8'), 'precious');
  // Positive control: the same name freed, it serves.
  rmSync(path);
  const app = await serve(path);
  await app.close();
});

test('a live socket is an error; a stale one (nobody answers) is replaced', async () => {
  const path = join(dir, 'live.sock');
  const other = createServer(() => {});
  await new Promise<void>((r) => other.listen(path, r));
  await assert.rejects(serve(path), (err: any) => err.code === 'SOCKET_IN_USE' && /another process/.test(err.message));
  assert.ok(lstatSync(path).isSocket());
  await new Promise<void>((r) => other.close(() => r()));
  // Closing a server unlinks the path it bound; a crashed process leaves its socket file.
  // Bind elsewhere, move the file, close: a socket inode nobody listens on, as after a crash.
  const stale = join(dir, 'stale.sock');
  const crashed = createServer();
  await new Promise<void>((r) => crashed.listen(`${stale}.tmp`, r));
  renameSync(`${stale}.tmp`, stale);
  await new Promise<void>((r) => crashed.close(() => r()));
  assert.ok(lstatSync(stale).isSocket());
  const app = await serve(stale);
  assert.equal(await ping(stale), 'pong');
  await app.close();
});

test('a socket directory writable by others is refused', async () => {
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await assert.rejects(serve(join(open, 'x.sock')), (err: any) => err.code === 'SOCKET_IN_USE' && /writable by other users/.test(err.message));
  chmodSync(open, 0o755);
  const app = await serve(join(open, 'x.sock'));
  await app.close();
});

test('--socket-group gives the socket to a group, 0660; an unknown group is refused before anything is made', async () => {
  const path = join(dir, 'group.sock');
  await assert.rejects(serve(path, 'no-such-group-tenet'), (err: any) => err.code === 'BAD_REQUEST' && /no group/.test(err.message));
  assert.throws(() => lstatSync(path));
  const app = await serve(path, '65534');
  const st = lstatSync(path);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, 65534);
  assert.equal(await ping(path), 'pong');
  await app.close();
});
