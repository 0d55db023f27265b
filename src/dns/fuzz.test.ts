/**
 * Hostile input against a live server (issue 10): 10,000+ generated packets (random bytes,
 * mutated valid queries, compression loops, oversize) over UDP and TCP, while a real client
 * on another source address keeps asking and must be answered correctly every time; then a
 * flood from one source is rate-limited while another source is still answered.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { silentLogger } from '../base/logger.js';
import { dnsRecords } from '../model/dns-names.js';
import type { Endpoint, Network } from '../model/types.js';
import { answerPacket } from './answer.js';
import { SourceLimiter, type LimitOptions } from './limits.js';
import { NetworkDnsServer } from './server.js';
import { DnsStats } from './stats.js';
import { TenantZone } from './zone.js';

const network: Network = { id: 'n1', tenant: 't', name: 'red', subnet: '192.168.10.0/24', gateway: '192.168.10.1', mtu: 0, vni: 1, createdAt: '' };
const endpoint: Endpoint = {
  id: 'e1', tenant: 't', network: 'red', networkId: 'n1', name: 'c1', labels: {}, host: 'h', mac: '02:00:00:00:00:02', ip: '192.168.10.2', prefixLen: 24, gateway: '192.168.10.1',
  status: 'up', attachment: { kind: 'netns', netns: '/x', netnsId: { dev: 1, ino: 1 }, ifname: 'eth0' }, createdAt: '', updatedAt: '',
};
const zone = new TenantZone('t', [network], dnsRecords('t', [network], [endpoint]));

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const query = (name: string, id = 1, type: dnsPacket.RecordType = 'A') => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });

function generate(n: number, seed = 42): Buffer[] {
  const r = rng(seed);
  const int = (k: number) => Math.floor(r() * k);
  const seeds = [query('c1'), query('c1.red.t'), query('2.10.168.192.in-addr.arpa', 9, 'PTR'), query('example.com')];
  const loop = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]); // name points at itself
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    if (kind === 0) out.push(Buffer.from(Array.from({ length: int(600) }, () => int(256))));
    else if (kind === 4 && i % 25 === 4) out.push(i % 50 === 4 ? loop : Buffer.alloc(513 + int(1000), int(256)));
    else {
      const b = Buffer.from(seeds[int(seeds.length)]!);
      for (let f = 1 + int(4); f > 0; f--) b[int(b.length)] = int(256); // flip bytes, header included
      out.push(kind === 3 ? b.subarray(0, int(b.length)) : b);
    }
  }
  return out;
}

function serve(limits: LimitOptions): Promise<{ server: NetworkDnsServer; stats: DnsStats; udpPort: number; tcpPort: number }> {
  return new Promise((resolve) => {
    const udp = dgram.createSocket('udp4');
    const tcp = net.createServer();
    const stats = new DnsStats(silentLogger);
    udp.bind(0, '127.0.0.1', () =>
      tcp.listen(0, '127.0.0.1', () => {
        const server = new NetworkDnsServer(udp, tcp, { tenant: 't', network: 'red', zone: () => zone, stats, limiter: new SourceLimiter(limits), logger: silentLogger });
        resolve({ server, stats, udpPort: udp.address().port, tcpPort: (tcp.address() as net.AddressInfo).port });
      }),
    );
  });
}

/**
 * A real client on its own source address: one query, its answer's address. Like a stub
 * resolver it asks again after a second without an answer (a flood can overflow the kernel's
 * socket buffer before the server sees a packet), five times at most.
 */
async function ask(client: dgram.Socket, port: number, id: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const send = () => (++tries > 5 ? reject(new Error(`query ${id}: no answer after 5 tries`)) : client.send(query('c1', id), port, '127.0.0.1'));
    const timer = setInterval(send, 1000);
    const onMessage = (msg: Buffer) => {
      const p = dnsPacket.decode(msg);
      if (p.id !== id) return;
      clearInterval(timer);
      client.off('message', onMessage);
      const a = p.answers?.[0];
      resolve(a && 'data' in a ? String(a.data) : 'none');
    };
    client.on('message', onMessage);
    send();
  });
}

const bound = (address: string): Promise<dgram.Socket> => new Promise((res) => { const s = dgram.createSocket('udp4'); s.bind(0, address, () => res(s)); });

test('the answer path never throws on 10,000 generated packets', () => {
  const results = new Map<string, number>();
  for (const p of generate(10_000, 7)) {
    const r = answerPacket(p, zone, 'red', true);
    results.set(r.result, (results.get(r.result) ?? 0) + 1);
  }
  for (const reason of ['short', 'oversized', 'not-a-query', 'malformed']) assert.ok((results.get(reason) ?? 0) > 0, `some packets dropped as ${reason}: ${JSON.stringify([...results])}`);
  assert.ok((results.get('answered') ?? 0) + (results.get('nxdomain') ?? 0) > 0, 'some mutations are still queries');
});

test('10,000 hostile packets over UDP and TCP: dropped and counted, a real client answered throughout', async () => {
  const { server, stats, udpPort, tcpPort } = await serve({ perSecond: 1e6, burst: 1e6, maxSources: 64 });
  const fuzzer = await bound('127.0.0.2');
  const client = await bound('127.0.0.3');
  try {
    const packets = generate(10_000);
    let asked = 0;
    for (let i = 0; i < packets.length; i += 100) {
      for (const p of packets.slice(i, i + 100)) fuzzer.send(p, udpPort, '127.0.0.1');
      assert.equal(await ask(client, udpPort, 1000 + asked++), '192.168.10.2');
    }
    await tcpGarbage(tcpPort, packets.slice(0, 200));
    assert.equal(await askTcp(tcpPort), '192.168.10.2', 'TCP still answers');
    assert.equal(await ask(client, udpPort, 999), '192.168.10.2', 'and UDP after the storm');
    assert.ok(stats.dropped > 0, `drops counted: ${JSON.stringify(stats)}`);
    assert.ok(stats.get('answered') >= asked);
  } finally {
    fuzzer.close();
    client.close();
    server.close();
  }
});

test('a flood from one source is rate-limited; another source is still answered', async () => {
  const { server, stats, udpPort } = await serve({ perSecond: 50, burst: 50, maxSources: 64 });
  const flooder = await bound('127.0.0.4');
  const client = await bound('127.0.0.5');
  try {
    for (let i = 0; i < 2000; i++) flooder.send(query('c1', i), udpPort, '127.0.0.1');
    for (let i = 0; i < 20; i++) assert.equal(await ask(client, udpPort, 5000 + i), '192.168.10.2');
    assert.ok(stats.get('rate-limited') > 0, `flood limited: ${JSON.stringify(stats)}`);
  } finally {
    flooder.close();
    client.close();
    server.close();
  }
});

/** Sends garbage frames (some with lengths over the limit) over a few connections. */
async function tcpGarbage(port: number, packets: Buffer[]): Promise<void> {
  for (let c = 0; c < 4; c++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        for (const p of packets.slice(c * 50, c * 50 + 50)) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(c === 3 ? 60000 : p.length);
          s.write(Buffer.concat([len, p]));
        }
        s.end();
      });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
    });
  }
}

function askTcp(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const q = query('c1', 77);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    let got = Buffer.alloc(0);
    const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.concat([len, q])));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
      const a = dnsPacket.decode(got.subarray(2)).answers?.[0];
      s.end();
      resolve(a && 'data' in a ? String(a.data) : 'none');
    });
    s.on('error', reject);
  });
}
