/**
 * Controller replicas over one store (ADR 023): two controller apps in one process over ONE
 * MemoryStore instance, each listening on a loopback port and following the store through
 * its own watch, as replicas on one etcd cluster do. Clients given both addresses fail over
 * when one replica closes; a watch running across the close delivers every event exactly
 * once and in order; an agent's filtered watch never goes back to an older view; the CLI
 * works with `--api a,b` when a is dead; with every replica down, one line names them all.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { ObjectCache } from '../../src/agent/cache.js';
import { runSync } from '../../src/agent/sync.js';
import { ControllerClient } from '../../src/api/client.js';
import type { WatchMessage } from '../../src/api/types.js';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import { buildProgram, runCli } from '../../src/cli/program.js';
import { buildControllerApp } from '../../src/controller/app.js';
import { lineOfEvent } from '../../src/controller/watch-lines.js';
import { TenetError } from '../../src/model/errors.js';
import { ROOT } from '../../src/model/keys.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store, WatchEvent } from '../../src/store/types.js';

type App = Awaited<ReturnType<typeof buildControllerApp>>;

async function replica(store: Store, watchCatchUpMs?: number): Promise<{ app: App; url: string }> {
  const app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 50, watchCatchUpMs });
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

/** An address where nothing listens: a port just closed. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

/** The revisions of the store's events after `after` that a watch forwards (registered kinds only). */
async function history(store: Store, after: number, upTo: number): Promise<number[]> {
  const out: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const w = store.watch(ROOT, after, {
    onEvents: (events: WatchEvent[]) => {
      for (const e of events) if (lineOfEvent(e) !== null) out.push(e.kv.modRevision);
      if (events.some((e) => e.kv.modRevision >= upTo)) done();
    },
    onError: (err) => assert.fail(err),
  });
  await finished;
  w.cancel();
  return out;
}

const events = (ms: WatchMessage[]) => ms.filter((m) => m.type === 'put' || m.type === 'delete');

test('replicas: a client with both addresses fails over when the first closes; a POST that may have been applied is not resent', async (t) => {
  const store = new MemoryStore();
  const a = await replica(store);
  const b = await replica(store);
  const client = new ControllerClient(`${a.url},${b.url}`);
  t.after(async () => (client.close(), await b.app.close()));

  await client.createTenant('acme');
  assert.equal(client.transport.currentAddress, a.url, 'sticks to the first replica while it answers');
  await a.app.close();
  assert.deepEqual((await client.listTenants()).map((x) => x.name), ['acme'], 'the read moves to b');
  assert.equal(client.transport.currentAddress, b.url);
  await client.createTenant('beta'); // a refused connection: the POST was never sent, so it may go to b
  assert.deepEqual((await client.listTenants()).map((x) => x.name).sort(), ['acme', 'beta']);

  // A peer that reads the request and drops the connection: the POST may have been applied.
  const swallow = net.createServer((s) => s.once('data', () => s.destroy()));
  await new Promise<void>((r) => swallow.listen(0, '127.0.0.1', r));
  t.after(() => swallow.close());
  const ambiguous = new ControllerClient(`http://127.0.0.1:${(swallow.address() as net.AddressInfo).port},${b.url}`);
  t.after(() => ambiguous.close());
  await assert.rejects(ambiguous.createTenant('gamma'), (err: TenetError) => err.code === 'CONTROLLER_UNREACHABLE' && /may have been applied/.test(err.message));
  assert.equal((await client.listTenants()).some((x) => x.name === 'gamma'), false, 'not sent to b as well');
  // Positive controls on the same client: a read and an idempotent create (caller-chosen id) move on to b.
  assert.equal((await ambiguous.listTenants()).length, 2);
  await client.createNetwork('acme', { name: 'web', subnet: '10.0.0.0/24' });
  const again = new ControllerClient(`http://127.0.0.1:${(swallow.address() as net.AddressInfo).port},${b.url}`);
  t.after(() => again.close());
  assert.equal((await again.createEndpoint('acme', 'web', { id: 'e1' })).id, 'e1');
});

test('replicas: a watch running across the close of its replica delivers every event exactly once, in order', async (t) => {
  const store = new MemoryStore();
  const a = await replica(store);
  const b = await replica(store);
  const viaA = new ControllerClient(a.url);
  const viaB = new ControllerClient(b.url);
  const client = new ControllerClient(`${a.url},${b.url}`);
  const abort = new AbortController();
  t.after(async () => {
    abort.abort();
    for (const c of [viaA, viaB, client]) c.close();
    await b.app.close();
  });
  const start = await store.revision();
  const seen: WatchMessage[] = [];
  const watching = client.watchResuming(start, (m) => seen.push(m), abort.signal);

  await viaA.createTenant('t1');
  await viaB.createTenant('t2');
  await viaA.createNetwork('t1', { name: 'web', subnet: '10.0.0.0/24' });
  await viaB.createEndpoint('t1', 'web', { id: 'e0' }); // endpoint and address in one transaction
  await waitFor(() => events(seen).length >= 4 || undefined, 5000, 'the events before the switch');
  const closing = a.app.close();
  await Promise.all(Array.from({ length: 5 }, (_, i) => viaB.createEndpoint('t1', 'web', { id: `during${i}` })));
  await closing;
  for (let i = 0; i < 5; i++) await viaB.createTenant(`after${i}`);
  await viaB.deleteEndpoint('e0');
  const final = await store.revision();
  await waitFor(() => events(seen).at(-1)?.revision === final || undefined, 10_000, 'the last event through b');

  const expected = await history(store, start, final);
  assert.deepEqual(events(seen).map((m) => m.revision), expected, 'the store history, each event once');
  const ids = events(seen).map((m) => JSON.stringify(m));
  assert.equal(new Set(ids).size, ids.length, 'no event twice');
  assert.equal(client.transport.currentAddress, b.url, 'the watch moved to b');
  abort.abort();
  await watching;
});

test('replicas: a filtered watch resuming on a replica that lags waits for it, or moves on; never an older view', async (t) => {
  const store = new MemoryStore();
  const a = await replica(store);
  // Replicas whose store watch can be held back: their fan-out falls behind the store.
  const held: (() => void)[] = [];
  let holding = false;
  const lagging: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === 'watch') {
        return (prefix: string, after: number, h: Parameters<Store['watch']>[2]) =>
          target.watch(prefix, after, { onEvents: (ev) => (holding ? held.push(() => h.onEvents(ev)) : h.onEvents(ev)), onError: h.onError });
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
  const patient = await replica(lagging, 60_000);
  const hasty = await replica(lagging, 100);
  const admin = new ControllerClient(a.url);
  const clients: ControllerClient[] = [admin];
  const client = (url: string) => (clients.push(new ControllerClient(url)), clients.at(-1)!);
  t.after(async () => {
    for (const c of clients) c.close();
    for (const r of [a, patient, hasty]) await r.app.close();
  });
  await admin.registerHost('h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  await admin.createTenant('acme');
  await admin.createNetwork('acme', { name: 'web', subnet: '10.0.0.0/24' });
  await admin.createEndpoint('acme', 'web', { id: 'e1', host: 'h1' });
  const caughtUp = await store.revision();
  await waitFor(async () => ((await client(hasty.url).hostSnapshot('h1')).revision === caughtUp) || undefined, 5000, 'the lagging replicas to follow');
  await waitFor(async () => ((await client(patient.url).hostSnapshot('h1')).revision === caughtUp) || undefined, 5000, 'the lagging replicas to follow');
  holding = true;
  await admin.createNetwork('acme', { name: 'db', subnet: '10.1.0.0/24' }); // what h1 applied from a
  const applied = await store.revision();

  // The hasty replica answers REPLICA_BEHIND on its own; with a behind it, the client lands there.
  await assert.rejects(client(hasty.url).watchHost('h1', () => {}, undefined, undefined, applied), (err: TenetError) => err.code === 'REPLICA_BEHIND');
  const moved: WatchMessage[] = [];
  const abort = new AbortController();
  const twoWay = client(`${hasty.url},${a.url}`);
  const following = twoWay.watchHost('h1', (m) => moved.push(m), abort.signal, undefined, applied);
  await waitFor(() => moved.find((m) => m.type === 'synced'), 5000, 'synced from a');
  assert.ok(moved.find((m) => m.type === 'synced')!.revision >= applied);
  assert.equal(twoWay.transport.currentAddress, a.url);
  // Positive control: the hasty replica serves a host that has applied no more than it has.
  const early: WatchMessage[] = [];
  const early$ = client(hasty.url).watchHost('h1', (m) => early.push(m), abort.signal, undefined, caughtUp);
  await waitFor(() => early.find((m) => m.type === 'synced'), 5000, 'synced from the hasty replica');

  // The patient replica waits for its fan-out, then serves a view that has the network.
  const waited: WatchMessage[] = [];
  const patient$ = client(patient.url).watchHost('h1', (m) => waited.push(m), abort.signal, undefined, applied);
  holding = false;
  for (const f of held.splice(0)) f();
  await waitFor(() => waited.find((m) => m.type === 'synced'), 5000, 'synced from the patient replica');
  assert.ok(waited.find((m) => m.type === 'synced')!.revision >= applied);
  assert.ok(waited.some((m) => m.type === 'put' && m.kind === 'network' && (m.object as { name: string }).name === 'db'));
  abort.abort();
  await Promise.all([following, early$, patient$]);
});

test('replicas: an agent following a across its close lists again from b, never going back in revision', async (t) => {
  const store = new MemoryStore();
  const a = await replica(store);
  const b = await replica(store);
  const viaB = new ControllerClient(b.url);
  const client = new ControllerClient(`${a.url},${b.url}`);
  const cache = new ObjectCache();
  const abort = new AbortController();
  t.after(async () => {
    abort.abort();
    viaB.close();
    client.close();
    await b.app.close();
  });
  await viaB.registerHost('h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  await viaB.createTenant('acme');
  await viaB.createNetwork('acme', { name: 'web', subnet: '10.0.0.0/24' });
  await viaB.createEndpoint('acme', 'web', { id: 'e1', host: 'h1' });
  const revisions: number[] = [];
  let lists = 0;
  const note = () => revisions.push(cache.revision);
  const sync = runSync(client, 'h1', cache, { onListed: () => (lists++, note()), onChange: note, onMessage: note }, silentLogger, abort.signal);
  await waitFor(() => cache.endpoints.has('e1') || undefined, 5000, 'the first list');
  await viaB.createEndpoint('acme', 'web', { id: 'e2', host: 'h1' });
  await waitFor(() => cache.endpoints.has('e2') || undefined, 5000, 'e2 through a');
  await a.app.close();
  await viaB.createEndpoint('acme', 'web', { id: 'e3', host: 'h1' });
  await viaB.deleteEndpoint('e1');
  await waitFor(() => (lists >= 2 && cache.endpoints.has('e3') && !cache.endpoints.has('e1')) || undefined, 10_000, 'the list from b');
  assert.equal(client.transport.currentAddress, b.url);
  assert.deepEqual([...cache.endpoints.keys()].sort(), ['e2', 'e3']);
  assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y), 'the applied revision never went back');
  abort.abort();
  await sync;
});

test('replicas: the CLI with --api a,b works when a is dead; with both dead, one line names both', async (t) => {
  const store = new MemoryStore();
  const b = await replica(store);
  t.after(() => b.app.close());
  const dead = await deadAddress();
  const tenet = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(args, buildProgram({ out: (x) => (out += x), err: (x) => (err += x) }));
    return { code, out, err };
  };
  assert.equal((await tenet(['--api', `${dead},${b.url}`, 'tenant', 'create', 'acme'])).code, 0);
  const ls = await tenet(['--api', `${dead},${b.url}`, 'tenant', 'ls', '-o', 'json']);
  assert.equal(ls.code, 0, ls.err);
  assert.deepEqual((JSON.parse(ls.out) as { name: string }[]).map((x) => x.name), ['acme']);

  const dead2 = await deadAddress();
  const down = await tenet(['--api', `${dead},${dead2}`, 'tenant', 'ls']);
  assert.notEqual(down.code, 0);
  const lines = down.err.trimEnd().split('\n');
  assert.match(lines[0]!, /cannot reach any of .*127\.0\.0\.1.*ECONNREFUSED.*127\.0\.0\.1.*ECONNREFUSED/);
  assert.ok(lines[0]!.includes(dead) && lines[0]!.includes(dead2), down.err);
  assert.equal(down.out, '');
});

test('replicas: a watch cut in the middle of a transaction resumes before it and passes each of its events once', async (t) => {
  const put = (revision: number, name: string) => `${JSON.stringify({ type: 'put', kind: 'tenant', revision, object: { name } })}\n`;
  const asked: string[] = [];
  // First replica: sends one event of revision 5 (a transaction of two) and dies mid-stream.
  const first = http.createServer((req, res) => {
    asked.push(`first ${req.url}`);
    first.close(); // it goes away: the reconnect is refused and moves on
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(put(4, 'z') + put(5, 'a'), () => setTimeout(() => res.destroy(), 20));
  });
  // Second replica: the store from the revision asked for, then stays open.
  const second = http.createServer((req, res) => {
    asked.push(`second ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const after = Number(new URL(req.url!, 'http://x').searchParams.get('revision'));
    res.write([put(4, 'z'), put(5, 'a'), put(5, 'b'), put(6, 'c')].filter((l) => (JSON.parse(l) as { revision: number }).revision > after).join(''));
  });
  const urls: string[] = [];
  for (const s of [first, second]) {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    urls.push(`http://127.0.0.1:${(s.address() as net.AddressInfo).port}`);
  }
  const client = new ControllerClient(urls.join(','));
  const abort = new AbortController();
  t.after(() => {
    abort.abort();
    client.close();
    first.closeAllConnections();
    second.closeAllConnections();
    first.close();
    second.close();
  });
  const seen: string[] = [];
  const watching = client.watchResuming(3, (m) => m.type === 'put' && seen.push(`${m.revision}${(m.object as { name: string }).name}`), abort.signal);
  await waitFor(() => (seen.length >= 4 && asked.some((a) => a.startsWith('second'))) || undefined, 5000, 'the events through the second replica');
  assert.deepEqual(seen, ['4z', '5a', '5b', '6c']);
  assert.ok(asked.includes('second /v1/watch?revision=4'), `resumed from the revision before the cut transaction: ${asked.join(', ')}`);
  abort.abort();
  await watching;
});
