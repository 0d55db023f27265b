/**
 * Fuzz (issue 10): at least 10,000 generated packets, mutations of real client messages and
 * random bytes, go through the server; none may throw, every one is answered or dropped and
 * counted, and a real client's DISCOVER is still answered during and after.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { clientPacket } from './testing.js';
import { DhcpLimiter } from './limits.js';
import type { Binding } from './respond.js';
import { TenantDhcpServer } from './server.js';
import { DhcpStats } from './stats.js';
import { MessageType } from './wire.js';

const MAC = '0a:58:c0:a8:0a:05';
const B: Binding = { tenant: 'acme', network: 'red', ip: '192.168.10.5', prefixLen: 24, gateway: '192.168.10.1', mtu: 1450, dns: ['192.168.10.1'], search: ['red.acme', 'acme'] };

/** A seeded generator: the same packets every run, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function mutate(base: Buffer, r: () => number): Buffer {
  const kind = Math.floor(r() * 5);
  const b = Buffer.from(base);
  if (kind === 0) return Buffer.from(Array.from({ length: Math.floor(r() * 1600) }, () => Math.floor(r() * 256)));
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2) {
    for (let i = 0; i < 1 + r() * 8; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 3) {
    // Random options after a valid header: lengths past the end, repeats, no END.
    const opts = Array.from({ length: Math.floor(r() * 400) }, () => Math.floor(r() * 256));
    return Buffer.concat([b.subarray(0, 240), Buffer.from(opts)]);
  }
  for (let i = 240; i < b.length; i++) if (r() < 0.1) b[i] = Math.floor(r() * 256);
  return b;
}

test('10,000+ generated packets: no throw, all counted, a real client answered during and after', async () => {
  const stats = new DhcpStats(silentLogger);
  const sock = dgram.createSocket('udp4');
  sock.send = ((_m: Buffer, _p: number, _a: string, cb: () => void) => cb()) as typeof sock.send;
  const server = new TenantDhcpServer(sock, { tenant: 'acme', lookup: (m) => (m === MAC ? B : undefined), reach: async () => {}, stats, limiter: new DhcpLimiter({ perSecond: 1e9, burst: 1e9, maxSources: 4096, totalPerSecond: 1e9 }), logger: silentLogger });
  const r = rng(42);
  const bases = [MessageType.DISCOVER, MessageType.REQUEST, MessageType.INFORM, MessageType.RELEASE, MessageType.DECLINE].map((t) => clientPacket(t, { requested: '192.168.10.5', ciaddr: '192.168.10.5' }));
  const N = 12_000;
  for (let i = 0; i < N; i++) {
    await server.handle(mutate(bases[i % bases.length]!, r));
    if (i % 1000 === 0) assert.equal((await server.handle(clientPacket(MessageType.DISCOVER))).result, 'offer', `real client during the fuzz (${i})`);
  }
  assert.equal((await server.handle(clientPacket(MessageType.DISCOVER))).result, 'offer', 'real client after');
  const total = [...stats.counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, N + 13, 'every packet counted once');
  assert.ok(stats.dropped > N / 2, `most garbage is dropped (${JSON.stringify(stats.toJSON())})`);
  server.close();
});
