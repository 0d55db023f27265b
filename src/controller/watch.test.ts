import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import type { WatchMessage } from '../api/types.js';
import { waitFor } from '../base/async.js';
import { assertError, testApp, type TestApp } from './testing.js';

const NETS = '/v1/tenants/acme/networks';

async function listening(bookmarkMs = 60_000): Promise<{ t: TestApp; client: ControllerClient }> {
  const t = await testApp({ bookmarkMs });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, client: new ControllerClient(address) };
}

function collect(client: ControllerClient, revision: number) {
  const messages: WatchMessage[] = [];
  const abort = new AbortController();
  const done = client.watch(revision, (m) => messages.push(m), abort.signal);
  return { messages, abort, done };
}

test('watch: puts and deletes after the start revision, without allocation keys', async () => {
  const { t, client } = await listening();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  const start = await t.store.revision();
  const w = collect(client, start);
  const net = (await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' })).body;
  await t.call('DELETE', `${NETS}/web`);
  await waitFor(() => (w.messages.length >= 2 ? true : undefined), 2000, 'watch messages');
  const end = await t.store.revision();
  assert.deepEqual(
    w.messages.map((m) => [m.type, 'kind' in m ? m.kind : '', m.revision]),
    [
      ['put', 'network', start + 1],
      ['delete', 'network', end],
    ],
  );
  for (const m of w.messages) if (m.type === 'put' || m.type === 'delete') assert.deepEqual(m.object, net);
  w.abort.abort();
  await w.done;
  client.close();
  await t.app.close();
});

test('watch: from revision 0 replays history; idle streams get bookmarks at the latest revision', async () => {
  const { t, client } = await listening(30);
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' });
  const w = collect(client, 0);
  await waitFor(() => w.messages.find((m) => m.type === 'bookmark'), 2000, 'a bookmark');
  const kinds = w.messages.filter((m) => m.type === 'put').map((m) => ('kind' in m ? m.kind : ''));
  assert.deepEqual(kinds, ['tenant', 'network']);
  const bookmark = w.messages.find((m) => m.type === 'bookmark')!;
  assert.equal(bookmark.revision, await t.store.revision());
  w.abort.abort();
  await w.done;
  client.close();
  await t.app.close();
});

test('watch: a compacted start revision gets one compacted line and the stream ends', async () => {
  const { t, client } = await listening();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await t.call('POST', '/v1/tenants', { name: 'beta' });
  await t.store.compact(2);
  const w = collect(client, 1);
  await w.done;
  assert.deepEqual(w.messages, [{ type: 'compacted', revision: 2 }]);
  client.close();
  await t.app.close();
});

test('watch: closing the app ends open streams instead of hanging', async () => {
  const { t, client } = await listening();
  const w = collect(client, 0);
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await waitFor(() => (w.messages.length > 0 ? true : undefined), 2000, 'first message');
  await t.app.close();
  await w.done;
  client.close();
});

test('watch: a bad revision is BAD_REQUEST', async () => {
  const t = await testApp();
  assertError(await t.call('GET', '/v1/watch?revision=abc'), 'BAD_REQUEST');
  assertError(await t.call('GET', '/v1/watch'), 'BAD_REQUEST');
  await t.app.close();
});

test('watch by host: the view, synced, then only what concerns the host; bad parameters are refused', async () => {
  const { t, client } = await listening();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' });
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  await t.call('POST', `${NETS}/web/endpoints`, { id: 'e1', host: 'h1' });
  const messages: WatchMessage[] = [];
  const abort = new AbortController();
  const done = client.watchHost('h1', (m) => messages.push(m), abort.signal);
  await waitFor(() => messages.find((m) => m.type === 'synced'), 2000, 'synced');
  const shown = (ms: WatchMessage[]) => ms.map((m) => (m.type === 'put' || m.type === 'delete' ? `${m.type} ${m.kind}` : m.type));
  assert.deepEqual(shown(messages).sort(), ['put endpoint', 'put host', 'put network', 'put tenant', 'synced']);
  assert.equal(messages.at(-1)!.revision, await t.store.revision());
  await t.call('POST', '/v1/tenants', { name: 'other' }); // not h1's business
  await t.call('POST', NETS, { name: 'db', subnet: '10.1.0.0/24' }); // h1's: the positive control
  await waitFor(() => (messages.length > 5 ? true : undefined), 2000, 'the network');
  assert.deepEqual(shown(messages.slice(5)), ['put network']);
  assert.deepEqual((await t.call('GET', '/v1/snapshot?host=h1')).body.objects.network.map((n: { name: string }) => n.name).sort(), ['db', 'web']);
  assertError(await t.call('GET', '/v1/watch?host=h1&revision=x'), 'BAD_REQUEST');
  assertError(await t.call('GET', '/v1/watch?host=no%20such'), 'INVALID_NAME');
  assertError(await t.call('GET', '/v1/snapshot?host=no%20such'), 'INVALID_NAME');
  abort.abort();
  await done;
  client.close();
  await t.app.close();
});
