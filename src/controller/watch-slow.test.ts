/**
 * A watcher that stops reading (issue 6): real HTTP over a socket, a 64 KiB bound. It is cut
 * off with `resync`, the controller's buffer for it is freed, and reconnecting it gets the
 * current view. A watcher that reads is not cut off (the positive control).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import type { WatchMessage } from '../api/types.js';
import { waitFor } from '../base/async.js';
import { testApp } from './testing.js';

const BOUND = 64 * 1024;

test('a watcher that stops reading is cut off with resync, its buffer freed; it re-lists and converges', async () => {
  const t = await testApp({ watchBufferBytes: BOUND, bookmarkMs: 60_000 });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const serverSockets: Socket[] = [];
  t.app.server.on('connection', (s: Socket) => serverSockets.push(s));
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await t.call('POST', '/v1/tenants/acme/networks', { name: 'web', subnet: '10.0.0.0/24' });
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  const ep = (await t.call('POST', '/v1/tenants/acme/networks/web/endpoints', { id: 'e1', host: 'h1' })).body;

  // The slow watcher: reads the response head, then nothing.
  const slow = await new Promise<http.IncomingMessage>((resolve) => http.get(`${address}/v1/watch?host=h1`, resolve));
  slow.pause();
  const slowSocket = serverSockets.at(-1)!;
  // Another that never reads again: its socket is destroyed, not left holding the buffer.
  const stuck = await new Promise<http.IncomingMessage>((resolve) => http.get(`${address}/v1/watch?host=h1`, resolve));
  stuck.pause();
  stuck.on('error', () => {});
  const stuckSocket = serverSockets.at(-1)!;
  // The reading watcher: the positive control.
  const client = new ControllerClient(address);
  const read: WatchMessage[] = [];
  const abort = new AbortController();
  const reading = client.watchHost('h1', (m) => read.push(m), abort.signal);
  await waitFor(() => read.some((m) => m.type === 'synced') || undefined, 3000, 'the reader to sync');

  // Status-sized writes of the endpoint, straight to the store, until the slow one is cut (at most 64 MiB).
  const detail = 'x'.repeat(16 * 1024);
  let writes = 0;
  const cut = () => t.logs.find((l) => l.msg === 'watch stream cut off; the client must re-list');
  while (!cut() && writes < 4096) {
    await t.store.txn([], [{ type: 'put', key: `/tenet/endpoints/e1`, value: JSON.stringify({ ...ep, status: 'up', statusDetail: `${writes++}${detail}` }) }]);
    if (writes % 16 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  const warn = cut();
  assert.ok(warn, `cut off after ${writes} writes`);
  assert.equal(warn.level, 'warn');
  assert.equal(warn.fields.host, 'h1');
  assert.ok((warn.fields.bytes as number) > BOUND);
  // Reading again at once (within the grace second), it finds the resync line at the end.
  let tail = '';
  slow.setEncoding('utf8');
  slow.on('data', (chunk: string) => (tail = (tail + chunk).slice(-300)));
  slow.resume();
  await new Promise((r) => slow.on('close', r));
  const last = tail.trim().split('\n').at(-1)!;
  assert.deepEqual(Object.keys(JSON.parse(last)), ['type', 'revision', 'reason']);
  assert.equal(JSON.parse(last).type, 'resync');
  // Its buffer is freed: the socket is done.
  await waitFor(() => (slowSocket.destroyed || slowSocket.writableLength === 0 ? true : undefined), 5000, 'the slow socket to be freed');
  await waitFor(() => (stuckSocket.destroyed ? true : undefined), 5000, 'the stuck socket to be destroyed');
  assert.ok(t.logs.filter((l) => l.msg === 'watch stream cut off; the client must re-list').length >= 2, 'both were cut off');

  // The reader got every write and no resync.
  await waitFor(() => (read.filter((m) => m.type === 'put').length >= writes + 4 ? true : undefined), 10_000, 'the reader to catch up');
  assert.ok(!read.some((m) => m.type === 'resync'), 'the reading watcher was not cut off');

  // The slow one reconnects: a fresh view, with the last write.
  const again: WatchMessage[] = [];
  const abort2 = new AbortController();
  const relist = client.watchHost('h1', (m) => again.push(m), abort2.signal);
  await waitFor(() => again.some((m) => m.type === 'synced') || undefined, 3000, 'the re-list');
  const e1 = again.find((m) => m.type === 'put' && m.kind === 'endpoint') as { object: { statusDetail: string } } | undefined;
  assert.equal(e1?.object.statusDetail, `${writes - 1}${detail}`);
  abort.abort();
  abort2.abort();
  await Promise.all([reading, relist]);
  slow.destroy();
  stuck.destroy();
  client.close();
  await t.app.close();
});
