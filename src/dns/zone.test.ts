/** Name resolution inside a tenant (issue 10): forms of names, PTR, and no answer across tenants. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dnsRecords } from '../model/dns-names.js';
import type { Endpoint, Network } from '../model/types.js';
import { answerPacket } from './answer.js';
import dnsPacket from 'dns-packet';
import { encodeReply, parseQuery } from './wire.js';
import { TenantZone } from './zone.js';

const net = (tenant: string, name: string, subnet: string): Network => ({ id: `${tenant}-${name}`, tenant, name, subnet, gateway: subnet.replace(/0\/\d+$/, '1'), mtu: 0, vni: 1, createdAt: '' });

function ep(tenant: string, network: string, name: string | undefined, ip: string, attached = true): Endpoint {
  const attachment = attached ? { kind: 'netns' as const, netns: '/run/netns/x', netnsId: { dev: 1, ino: 1 }, ifname: 'eth0' } : undefined;
  return { id: `${tenant}-${name}-${ip}`, tenant, network, networkId: `${tenant}-${network}`, name, labels: {}, host: 'h1', mac: '02:00:00:00:00:01', ip, prefixLen: 24, gateway: '', status: attached ? 'up' : 'detached', attachment, createdAt: '', updatedAt: '' };
}

/** Two tenants with the same network and endpoint names, different addresses. */
function zones(): { a: TenantZone; b: TenantZone } {
  const networks = [net('a', 'red', '192.168.10.0/24'), net('a', 'blue', '192.168.20.0/24'), net('b', 'red', '192.168.10.0/24')];
  const endpoints = [
    ep('a', 'red', 'c1', '192.168.10.2'),
    ep('a', 'red', 'Web', '192.168.10.3'),
    ep('a', 'blue', 'db', '192.168.20.2'),
    ep('a', 'red', 'gone', '192.168.10.9', false),
    ep('a', 'red', 'pod.with.dots', '192.168.10.7'),
    ep('b', 'red', 'c1', '192.168.10.5'),
  ];
  const zone = (t: string) => new TenantZone(t, networks.filter((n) => n.tenant === t), dnsRecords(t, networks, endpoints));
  return { a: zone('a'), b: zone('b') };
}

test('short, network-qualified and fully qualified names resolve in their tenant only', () => {
  const { a, b } = zones();
  assert.deepEqual(a.resolve('c1', 'A', 'red'), { kind: 'a', ip: '192.168.10.2' });
  assert.deepEqual(b.resolve('c1', 'A', 'red'), { kind: 'a', ip: '192.168.10.5' }, 'same names, other tenant: its own address');
  assert.deepEqual(a.resolve('WEB.red', 'A', 'blue'), { kind: 'a', ip: '192.168.10.3' }, 'case-insensitive, from another network');
  assert.deepEqual(a.resolve('db.blue.a.', 'A', 'red'), { kind: 'a', ip: '192.168.20.2' });
  assert.deepEqual(a.resolve('pod.with.dots', 'A', 'red'), { kind: 'a', ip: '192.168.10.7' });
  assert.deepEqual(a.resolve('pod.with.dots.red.a', 'A', 'red'), { kind: 'a', ip: '192.168.10.7' });
  assert.deepEqual(a.resolve('c1', 'AAAA', 'red'), { kind: 'nodata' });
});

test('unknown names are NXDOMAIN in the zone, REFUSED outside it; other tenants are outside', () => {
  const { a, b } = zones();
  assert.deepEqual(a.resolve('db', 'A', 'red'), { kind: 'nxdomain' }, 'a short name looks in its own network only');
  assert.deepEqual(b.resolve('web', 'A', 'red'), { kind: 'nxdomain' }, "tenant a's endpoint is unknown to b");
  assert.deepEqual(b.resolve('web.red', 'A', 'red'), { kind: 'nxdomain' });
  assert.deepEqual(b.resolve('web.red.a', 'A', 'red'), { kind: 'refused' }, "a's zone is not b's");
  assert.deepEqual(b.resolve('c1.red.a', 'A', 'red'), { kind: 'refused' });
  assert.deepEqual(a.resolve('gone', 'A', 'red'), { kind: 'nxdomain' }, 'a detached endpoint is not served');
  assert.deepEqual(a.resolve('x.red.a', 'A', 'red'), { kind: 'nxdomain' });
  assert.deepEqual(a.resolve('example.com', 'A', 'red'), { kind: 'refused' });
  assert.deepEqual(a.resolve('red.a', 'A', 'red'), { kind: 'nodata' });
});

test('PTR names the endpoint in full, for the tenant subnets only', () => {
  const { a, b } = zones();
  assert.deepEqual(a.resolve('3.10.168.192.in-addr.arpa', 'PTR', 'red'), { kind: 'ptr', name: 'web.red.a' });
  assert.deepEqual(b.resolve('3.10.168.192.in-addr.arpa', 'PTR', 'red'), { kind: 'nxdomain' }, "b's subnet, a's address: nothing");
  assert.deepEqual(b.resolve('5.10.168.192.in-addr.arpa', 'PTR', 'red'), { kind: 'ptr', name: 'c1.red.b' });
  assert.deepEqual(a.resolve('1.1.1.10.in-addr.arpa', 'PTR', 'red'), { kind: 'refused' });
  assert.deepEqual(a.resolve('300.10.168.192.in-addr.arpa', 'PTR', 'red'), { kind: 'refused' });
});

test('answers on the wire: A, NXDOMAIN, truncation with TC when the UDP limit is small', () => {
  const { a } = zones();
  const query = (name: string, type: 'A' | 'PTR' = 'A') => dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
  const rcode = (b: Buffer) => b.readUInt16BE(2) & 0xf;
  const okBuf = answerPacket(query('c1'), a, 'red', true).packet!;
  const ok = dnsPacket.decode(okBuf);
  assert.equal(ok.id, 7);
  assert.equal(rcode(okBuf), 0);
  assert.deepEqual(ok.answers?.map((r) => [r.name, r.type, 'data' in r ? r.data : undefined]), [['c1', 'A', '192.168.10.2']]);
  assert.equal(rcode(answerPacket(query('nobody'), a, 'red', true).packet!), 3, 'NXDOMAIN');
  assert.equal(answerPacket(query('nobody'), undefined, 'red', true).result, 'servfail');
  assert.equal(answerPacket(Buffer.from('xx'), a, 'red', true).result, 'short');
  const response = Buffer.from(answerPacket(query('c1'), a, 'red', true).packet!);
  assert.equal(answerPacket(response, a, 'red', true).result, 'not-a-query', 'a response is never answered');
  const parsed = parseQuery(query('c1'));
  assert.ok(parsed.ok);
  const reply = { rcode: 'NOERROR' as const, authoritative: true, answers: [{ name: 'c1', type: 'A' as const, ttl: 5, data: '192.168.10.2' }] };
  const cut = dnsPacket.decode(encodeReply(parsed.query, reply, 30));
  assert.ok(cut.flag_tc, 'over the limit: TC set');
  assert.equal(cut.answers?.length, 0);
  assert.ok(!dnsPacket.decode(encodeReply(parsed.query, reply, 512)).flag_tc);
});
