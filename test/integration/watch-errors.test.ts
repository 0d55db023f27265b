/**
 * Known bugs of the watch client, each kept fixed by a test against a scripted HTTP server
 * (a real socket, so chunking is real): an HTTP error answer was read as events (the cache
 * revision became NaN and the agent's sync looped every 50 ms), and a multi-byte character
 * split across two chunks was decoded as two replacement characters.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ObjectCache } from '../../src/agent/cache.js';
import { runSync } from '../../src/agent/sync.js';
import { ControllerClient } from '../../src/api/client.js';
import type { WatchMessage } from '../../src/api/types.js';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import type { TenetError } from '../../src/model/errors.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function serve(t: TestContext, handler: Handler): Promise<ControllerClient> {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-watch-'));
  const socket = join(dir, 'c.sock');
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(socket, r));
  const client = new ControllerClient(`unix:${socket}`);
  t.after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  return client;
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

async function watchAll(client: ControllerClient): Promise<WatchMessage[]> {
  const got: WatchMessage[] = [];
  await client.watch(7, (m) => got.push(m));
  return got;
}

const ERRORS: [string, number, unknown, string][] = [
  ['410 COMPACTED', 410, { error: { code: 'COMPACTED', message: 'revision 7 is compacted' } }, 'COMPACTED'],
  ['500 with a Tenet body', 500, { error: { code: 'INTERNAL', message: 'internal error' } }, 'INTERNAL'],
  ['401 from a proxy, not JSON', 401, 'Unauthorized', 'INTERNAL'],
];

for (const [what, status, body, code] of ERRORS) {
  test(`a watch answered with ${what} rejects with a TenetError and delivers no event`, async (t) => {
    const client = await serve(t, (_req, res) => (typeof body === 'string' ? (res.writeHead(status), res.end(body)) : json(res, status, body)));
    const got: WatchMessage[] = [];
    await assert.rejects(client.watch(7, (m) => got.push(m)), (err: TenetError) => err.code === code && !/\n/.test(err.message));
    assert.deepEqual(got, []);
  });
}

test('a watch line without a numeric revision rejects instead of reaching the cache', async (t) => {
  const lines = ['{"type":"bookmark","revision":9}', '{"type":"bookmark"}'];
  const client = await serve(t, (_req, res) => res.end(lines.map((l) => `${l}\n`).join('')));
  const got: WatchMessage[] = [];
  await assert.rejects(client.watch(7, (m) => got.push(m)), { code: 'CONTROLLER_UNREACHABLE' });
  assert.deepEqual(got, [{ type: 'bookmark', revision: 9 }], 'the good line before it was delivered');
});

test('a multi-byte character split across two chunks is decoded whole', async (t) => {
  const tenant = { id: 't', name: 'café-🚀', createdAt: '' };
  const line = Buffer.from(`${JSON.stringify({ type: 'put', kind: 'tenant', revision: 8, object: tenant })}\n`);
  const rocket = line.indexOf(Buffer.from('🚀'));
  const cuts = [line.indexOf(Buffer.from('é')) + 1, rocket + 1, rocket + 3]; // inside é, twice inside the emoji
  const client = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let from = 0;
    const next = (i: number) => {
      const to = cuts[i] ?? line.length;
      res.write(line.subarray(from, to));
      from = to;
      if (i < cuts.length) setTimeout(() => next(i + 1), 20); // separate socket reads
      else res.end();
    };
    next(0);
  });
  const got = await watchAll(client);
  assert.deepEqual(got.map((m) => (m.type === 'put' ? (m.object as typeof tenant).name : m.type)), ['café-🚀']);
});

test('sync lists again after a 500 and after a resync; a partial view never reaches the cache', async (t) => {
  const tenant = (name: string) => JSON.stringify({ type: 'put', kind: 'tenant', revision: 3, object: { id: name, name, createdAt: '' } });
  // What the successive streams get: an error; a view, then a resync; a view cut before
  // its `synced` line; a view that is then held open.
  const answers = ['500', 'resync', 'partial', 'hold'];
  let streams = 0;
  let lists = 0;
  const client = await serve(t, (req, res) => {
    assert.equal(new URL(req.url!, 'http://x').searchParams.get('host'), 'h1');
    streams++;
    const answer = answers.shift() ?? 'hold';
    if (answer === '500') return json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (answer === 'resync') return res.end(`${tenant('acme')}\n{"type":"synced","revision":5}\n{"type":"resync","revision":6,"reason":"fell behind"}\n`);
    if (answer === 'partial') return res.end(`${tenant('gamma')}\n`);
    res.write(`${tenant('beta')}\n{"type":"synced","revision":7}\n`); // then hold the stream open
  });
  const cache = new ObjectCache();
  const abort = new AbortController();
  t.after(() => abort.abort());
  const done = runSync(client, 'h1', cache, { onListed: () => lists++, onChange: () => {}, onMessage: () => {} }, silentLogger, abort.signal);
  await waitFor(() => (streams >= 4 && cache.revision === 7) || undefined, 10_000, 'the fourth stream');
  assert.equal(lists, 2, 'listed on each synced line, and only then');
  assert.deepEqual([...cache.tenants.keys()], ['beta'], 'the view of the last stream, nothing of the partial one');
  abort.abort();
  await done;
});

test('a watch aborted while its response is on the way ends instead of holding the stream', async (t) => {
  const abort = new AbortController();
  const client = await serve(t, (_req, res) => {
    abort.abort(); // before the client has the answer's head
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"bookmark","revision":6}\n'); // then hold the stream open
  });
  const got: WatchMessage[] = [];
  const ended = client.watch(7, (m) => got.push(m), abort.signal).then(() => 'ended');
  const verdict = await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000))]);
  assert.equal(verdict, 'ended');
  assert.deepEqual(got, [], 'nothing is delivered after the abort');
});

test('a watch stream that goes silent (a dead peer that never closed) ends with an error', async (t) => {
  const client = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"bookmark","revision":6}\n'); // then nothing, never closed
  });
  const got: WatchMessage[] = [];
  await assert.rejects(client.watch(7, (m) => got.push(m), undefined, 300), { code: 'CONTROLLER_UNREACHABLE', message: /silent/ });
  assert.deepEqual(got, [{ type: 'bookmark', revision: 6 }], 'what came before the silence was delivered');
});
