/**
 * The DNS forwarder (issue 10, --dns-upstream) against a fake upstream on loopback: names
 * outside the zone are forwarded and the answer comes back with the client's ID; names of
 * the zone never leave; an answer from the wrong source is ignored; a silent upstream ends
 * in SERVFAIL; in-flight queries per source are bounded.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { silentLogger } from '../base/logger.js';
import { dnsRecords } from '../model/dns-names.js';
import type { Endpoint, Network } from '../model/types.js';
import { Forwarder } from './forward.js';
import { SourceLimiter } from './limits.js';
import { NetworkDnsServer } from './server.js';
import { DnsStats } from './stats.js';
import { TenantZone } from './zone.js';

const network: Network = { id: 'n1', tenant: 't', name: 'red', subnet: '192.168.10.0/24', gateway: '192.168.10.1', mtu: 0, vni: 1, dnsUpstream: '127.0.0.1', createdAt: '' };
const endpoint: Endpoint = {
  id: 'e1', tenant: 't', network: 'red', networkId: 'n1', name: 'c1', labels: {}, host: 'h', mac: '02:00:00:00:00:02', ip: '192.168.10.2', prefixLen: 24, gateway: '192.168.10.1',
  status: 'up', attachment: { kind: 'netns', netns: '/x', netnsId: { dev: 1, ino: 1 }, ifname: 'eth0' }, createdAt: '', updatedAt: '',
};
const zone = new TenantZone('t', [network], dnsRecords('t', [network], [endpoint]));
const query = (name: string, id: number) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
const bound = (address: string): Promise<dgram.Socket> => new Promise((res) => { const s = dgram.createSocket('udp4'); s.bind(0, address, () => res(s)); });

/** A fake upstream: answers example.test with 203.0.113.7 unless `silent`; records what it was asked. */
async function upstream(silent = false): Promise<{ sock: dgram.Socket; asked: string[] }> {
  const sock = await bound('127.0.0.1');
  const asked: string[] = [];
  sock.on('message', (msg, r) => {
    const q = dnsPacket.decode(msg);
    asked.push(q.questions![0]!.name);
    if (silent) return;
    sock.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '203.0.113.7' }] }), r.port, r.address);
  });
  return { sock, asked };
}

async function serve(forwarder: Forwarder): Promise<{ server: NetworkDnsServer; port: number; stats: DnsStats }> {
  const udp = await bound('127.0.0.1');
  const stats = new DnsStats(silentLogger);
  const server = new NetworkDnsServer(udp, undefined, { tenant: 't', network: 'red', zone: () => zone, stats, limiter: new SourceLimiter(), logger: silentLogger, forwarder });
  return { server, port: udp.address().port, stats };
}

/** One query from `client`: the decoded answer. */
type Decoded = dnsPacket.DecodedPacket & { rcode?: string };

function ask(client: dgram.Socket, port: number, name: string, id: number): Promise<Decoded> {
  return new Promise((resolve) => {
    const onMessage = (msg: Buffer) => {
      const p = dnsPacket.decode(msg) as Decoded;
      if (p.id !== id) return;
      client.off('message', onMessage);
      resolve(p);
    };
    client.on('message', onMessage);
    client.send(query(name, id), port, '127.0.0.1');
  });
}

test('forwards names outside the zone to the upstream, never a name of the zone', async () => {
  const up = await upstream();
  const forwarder = new Forwarder({ port: up.sock.address().port });
  const { server, port, stats } = await serve(forwarder);
  const client = await bound('127.0.0.6');
  try {
    const a = await ask(client, port, 'www.example.test', 4321);
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers?.map((r) => 'data' in r && r.data), ['203.0.113.7']);
    const own = await ask(client, port, 'c1.red.t', 11);
    assert.deepEqual(own.answers?.map((r) => 'data' in r && r.data), ['192.168.10.2'], 'positive control: the zone answers itself');
    assert.equal((await ask(client, port, 'nobody', 12)).rcode, 'NXDOMAIN', 'a short name is the zone\'s');
    assert.equal((await ask(client, port, 'nobody.red.t', 13)).rcode, 'NXDOMAIN');
    assert.deepEqual(up.asked, ['www.example.test'], 'only the outside name left');
    assert.equal(stats.get('forwarded'), 1);
  } finally {
    client.close();
    server.close();
    forwarder.close();
    up.sock.close();
  }
});

test('an answer from another source is ignored; a silent upstream ends in SERVFAIL; in-flight queries per source are bounded', async () => {
  const up = await upstream(true);
  const upPort = up.sock.address().port;
  const forwarder = new Forwarder({ port: upPort, timeoutMs: 300, maxPerSource: 2 });
  const { server, port, stats } = await serve(forwarder);
  const client = await bound('127.0.0.7');
  const spoofer = await bound('127.0.0.8');
  try {
    const pending = ask(client, port, 'a.example.test', 1);
    const second = ask(client, port, 'b.example.test', 2);
    const busy = await ask(client, port, 'c.example.test', 3);
    assert.equal(busy.rcode, 'SERVFAIL', 'a third query in flight from one source is refused at once');
    assert.equal(forwarder.inFlight, 2);
    // Every possible ID from the wrong address: none may be taken for the answer.
    for (let id = 0; id < 65_536; id += 1) {
      if (id % 4096 === 0) await new Promise((r) => setImmediate(r));
      spoofer.send(dnsPacket.encode({ type: 'response', id, questions: [{ name: 'a.example.test', type: 'A' }], answers: [{ type: 'A', name: 'a.example.test', data: '6.6.6.6' }] }), forwarder.localPort!, '127.0.0.1');
    }
    const [a, b] = await Promise.all([pending, second]);
    assert.deepEqual([a.rcode, b.rcode], ['SERVFAIL', 'SERVFAIL'], 'timed out: SERVFAIL, not the spoofed answer');
    assert.equal(stats.get('forward-timeout'), 2);
    assert.equal(stats.get('forward-busy'), 1);
    assert.equal(forwarder.inFlight, 0);
  } finally {
    client.close();
    spoofer.close();
    server.close();
    forwarder.close();
    up.sock.close();
  }
});
