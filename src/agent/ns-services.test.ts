/**
 * An optional socket (the DNS TCP listener, ADR 024) in NamespaceServers: while its port is
 * held (by the parker of the previous agent) the server starts on its other sockets and the
 * service reports complete, so the parker can go; the optional socket is tried again soon and
 * handed to the running server once bound. A required socket that fails still keeps the
 * server from starting (control). Binding is faked; the namespace is real (its identity is read).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../base/async.js';
import { silentLogger } from '../base/logger.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import { NamespaceServers, type Bound, type WantedServer } from './ns-services.js';
import type { BoundSocket, SocketRequest } from './ns-sockets.js';

const NS = `tnsvc${randomBytes(3).toString('hex')}`;

class FakeServer {
  readonly late: number[] = [];
  closed = false;
  constructor(readonly sockets: Bound[]) {}
  close(): void {
    this.closed = true;
  }
}

/** Binds every request, except the keys in `held` (EADDRINUSE), as a socket child would answer. */
function fakeBind(held: Set<string>, calls: string[][]) {
  return async (_path: string | undefined, requests: SocketRequest[]): Promise<BoundSocket[]> => {
    calls.push(requests.map((r) => r.key));
    return requests.map((r) => (held.has(r.key) ? { key: r.key, ok: false as const, error: 'bind EADDRINUSE' } : { key: r.key, ok: true as const, [r.proto]: { close() {} } }));
  };
}

/** A server wanting a UDP socket (required) and a TCP one (optional), keys `udp KEY` and `tcp KEY`. */
const udpAndOptionalTcp = (key: string): WantedServer => ({
  key,
  ns: NS,
  requests: [{ key: `udp ${key}`, proto: 'udp', address: '0.0.0.0', port: 1 }, { key: `tcp ${key}`, proto: 'tcp', address: '0.0.0.0', port: 1, optional: true }],
});

describe('NamespaceServers with an optional socket', { skip: kernelSkip('a namespace to serve in', ['ip']) }, () => {
  before(() => execFileSync('ip', ['netns', 'add', NS]));
  after(() => execFileSync('ip', ['netns', 'del', NS]));

  it('starts without a held optional socket, reports complete, and attaches it once free', async () => {
    const held = new Set(['tcp a']);
    const calls: string[][] = [];
    const started: FakeServer[] = [];
    let completed = 0;
    const wanted = udpAndOptionalTcp('a');
    const servers = new NamespaceServers<WantedServer, FakeServer>({
      name: 'TEST',
      logger: silentLogger,
      wanted: () => [wanted],
      start: (_w, sockets) => started[started.push(new FakeServer(sockets)) - 1]!,
      attach: (server, i) => void server.late.push(i),
      bind: fakeBind(held, calls),
      onComplete: () => void completed++,
    });
    try {
      servers.request();
      await waitFor(() => (completed > 0 ? true : undefined), 10_000, 'complete without the optional socket');
      assert.equal(started.length, 1);
      assert.deepEqual(started[0]!.sockets[1], {}, 'started with the TCP slot empty');
      held.clear(); // the parker went
      await waitFor(() => (started[0]!.late.length > 0 ? true : undefined), 10_000, 'the late socket attached');
      assert.deepEqual(started[0]!.late, [1]);
      assert.equal(started.length, 1, 'the server was not restarted: its UDP socket stayed');
      assert.deepEqual(calls.at(-1), ['tcp a'], 'the retry asked for the late socket only');
    } finally {
      servers.stop();
    }
  });

  it('a failed required socket keeps the server from starting (control)', async () => {
    const calls: string[][] = [];
    let started = 0;
    const wanted = udpAndOptionalTcp('b');
    const servers = new NamespaceServers<WantedServer, FakeServer>({
      name: 'TEST',
      logger: silentLogger,
      wanted: () => [wanted],
      start: (_w, sockets) => (started++, new FakeServer(sockets)),
      bind: fakeBind(new Set(['udp b']), calls),
    });
    try {
      servers.request();
      await waitFor(() => (calls.length > 0 ? true : undefined), 10_000, 'a bind');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(started, 0);
      assert.deepEqual(servers.keys, []);
    } finally {
      servers.stop();
    }
  });
});
