/**
 * The DHCP server without a kernel: message handling per type, the options of a lease,
 * unknown MACs ignored, two tenants with the same addresses kept apart, per-MAC limits.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { DhcpLimiter } from './limits.js';
import { respond, type Binding } from './respond.js';
import { TenantDhcpServer } from './server.js';
import { DhcpStats } from './stats.js';
import { clientPacket } from './testing.js';
import { MessageType, Opt, parseClientMessage } from './wire.js';

const MAC = '0a:58:c0:a8:0a:05';
const B: Binding = { tenant: 'acme', network: 'red', ip: '192.168.10.5', prefixLen: 24, gateway: '192.168.10.1', mtu: 1450, dns: ['192.168.10.1'], search: ['red.acme', 'acme'] };

/** Options of a reply, by code. */
function replyOptions(reply: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 240;
  while (i < reply.length && reply[i] !== Opt.END) {
    if (reply[i] === 0) {
      i++;
      continue;
    }
    out.set(reply[i]!, reply.subarray(i + 2, i + 2 + reply[i + 1]!));
    i += 2 + reply[i + 1]!;
  }
  return out;
}

const ip = (b?: Buffer) => (b ? [...b].join('.') : undefined);
const lookup = (mac: string) => (mac === MAC ? B : undefined);
function answer(p: Buffer) {
  const r = parseClientMessage(p);
  assert.ok(r.ok, 'well formed');
  return respond(r.msg, lookup, 600);
}

test('DISCOVER gets an OFFER of the Tenet address with every lease option', () => {
  const out = answer(clientPacket(MessageType.DISCOVER, { xid: 77 }));
  assert.equal(out.result, 'offer');
  const r = out.reply!;
  assert.equal(r[0], 2);
  assert.equal(r.readUInt32BE(4), 77);
  assert.equal(ip(r.subarray(16, 20)), '192.168.10.5');
  assert.equal([...r.subarray(28, 34)].map((x) => x.toString(16).padStart(2, '0')).join(':'), MAC);
  assert.ok(r.length >= 300);
  const o = replyOptions(r);
  assert.deepEqual([...o.get(Opt.MESSAGE_TYPE)!], [MessageType.OFFER]);
  assert.equal(ip(o.get(Opt.SERVER_ID)), '192.168.10.1');
  assert.equal(ip(o.get(Opt.SUBNET_MASK)), '255.255.255.0');
  assert.equal(ip(o.get(Opt.ROUTER)), '192.168.10.1');
  assert.equal(ip(o.get(Opt.DNS)), '192.168.10.1');
  assert.equal(ip(o.get(Opt.BROADCAST)), '192.168.10.255');
  assert.equal(o.get(Opt.MTU)!.readUInt16BE(0), 1450);
  assert.equal(o.get(Opt.LEASE_TIME)!.readUInt32BE(0), 600);
  assert.equal(o.get(Opt.DOMAIN_NAME)!.toString(), 'red.acme');
  assert.deepEqual(o.get(Opt.DOMAIN_SEARCH), Buffer.from('\x03red\x04acme\x00\x04acme\x00', 'latin1'));
  assert.deepEqual(out.to, { ip: '192.168.10.5', mac: MAC });
});

test('REQUEST: ACK for the Tenet address, NAK for another, silence when another server was chosen', () => {
  assert.equal(answer(clientPacket(MessageType.REQUEST, { requested: '192.168.10.5', server: '192.168.10.1' })).result, 'ack');
  assert.equal(answer(clientPacket(MessageType.REQUEST, { requested: '192.168.10.5' })).result, 'ack', 'INIT-REBOOT');
  assert.equal(answer(clientPacket(MessageType.REQUEST, { ciaddr: '192.168.10.5' })).result, 'ack', 'RENEWING');
  const nak = answer(clientPacket(MessageType.REQUEST, { requested: '192.168.10.9' }));
  assert.equal(nak.result, 'nak');
  assert.deepEqual([...replyOptions(nak.reply!).get(Opt.MESSAGE_TYPE)!], [MessageType.NAK]);
  assert.equal(ip(nak.reply!.subarray(16, 20)), '0.0.0.0');
  const other = answer(clientPacket(MessageType.REQUEST, { requested: '192.168.10.5', server: '10.0.0.1' }));
  assert.equal(other.result, 'other-server');
  assert.equal(other.reply, undefined);
});

test('INFORM gets an ACK without lease time; RELEASE and DECLINE get no reply', () => {
  const inf = answer(clientPacket(MessageType.INFORM, { ciaddr: '192.168.10.5' }));
  assert.equal(inf.result, 'inform');
  const o = replyOptions(inf.reply!);
  assert.equal(o.has(Opt.LEASE_TIME), false);
  assert.equal(ip(o.get(Opt.ROUTER)), '192.168.10.1');
  assert.equal(ip(inf.reply!.subarray(12, 16)), '192.168.10.5', 'ciaddr echoed');
  for (const t of [MessageType.RELEASE, MessageType.DECLINE]) {
    const out = answer(clientPacket(t, { ciaddr: '192.168.10.5' }));
    assert.equal(out.reply, undefined);
  }
});

test('unknown MACs and relayed messages are ignored', () => {
  assert.equal(answer(clientPacket(MessageType.DISCOVER, { mac: '0a:58:00:00:00:99' })).result, 'unknown-mac');
  assert.equal(answer(clientPacket(MessageType.DISCOVER, { giaddr: '10.1.1.1' })).result, 'relayed');
});

test('strict parsing: truncated, wrong op, no magic, option past the end, no END, repeated option', () => {
  const good = clientPacket(MessageType.DISCOVER);
  const cases: [Buffer, string][] = [
    [good.subarray(0, 200), 'short'],
    [Buffer.concat([good, Buffer.alloc(1500)]), 'oversized'],
    [Buffer.from(good).fill(2, 0, 1), 'not-a-request'],
    [Buffer.from(good).fill(0, 236, 237), 'no-magic'],
    [Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 12, 200, 1])]), 'bad-options'],
    [good.subarray(0, good.length - 1), 'bad-options'],
    [Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 53, 1, 1, 255])]), 'bad-options'],
    [Buffer.concat([good.subarray(0, 240), Buffer.from([255])]), 'no-type'],
    [Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 9, 255])]), 'bad-type'],
  ];
  for (const [p, reason] of cases) assert.deepEqual(parseClientMessage(p), { ok: false, reason });
});

function fakeSocket(): dgram.Socket & { sent: { to: string; port: number }[] } {
  const s = dgram.createSocket('udp4') as dgram.Socket & { sent: { to: string; port: number }[] };
  s.sent = [];
  s.send = ((_msg: Buffer, port: number, to: string, cb: () => void) => {
    s.sent.push({ to, port });
    cb();
  }) as typeof s.send;
  return s;
}

test('two tenants with identical addresses: each server answers its own endpoints only', async () => {
  const other: Binding = { ...B, tenant: 'other', network: 'red', search: ['red.other', 'other'] };
  const otherMac = '0a:58:c0:a8:0a:06';
  const stats = new DhcpStats(silentLogger);
  const reached: string[] = [];
  const mk = (tenant: string, b: Binding, mac: string) =>
    new TenantDhcpServer(fakeSocket(), { tenant, lookup: (m) => (m === mac ? b : undefined), reach: async (x, ipA, m) => void reached.push(`${x.tenant} ${ipA} ${m}`), stats, limiter: new DhcpLimiter(), logger: silentLogger });
  const acme = mk('acme', B, MAC);
  const oth = mk('other', other, otherMac);
  assert.equal((await acme.handle(clientPacket(MessageType.DISCOVER, { mac: otherMac }))).result, 'unknown-mac');
  assert.equal((await oth.handle(clientPacket(MessageType.DISCOVER))).result, 'unknown-mac');
  const a = await acme.handle(clientPacket(MessageType.DISCOVER));
  const o = await oth.handle(clientPacket(MessageType.DISCOVER, { mac: otherMac }));
  assert.equal(replyOptions(a.reply!).get(Opt.DOMAIN_NAME)!.toString(), 'red.acme');
  assert.equal(replyOptions(o.reply!).get(Opt.DOMAIN_NAME)!.toString(), 'red.other');
  assert.deepEqual(reached, [`acme 192.168.10.5 ${MAC}`, `other 192.168.10.5 ${otherMac}`]);
  assert.equal(stats.get('unknown-mac'), 2);
  acme.close();
  oth.close();
});

test('a flood from one source address is limited; another source is still answered', async () => {
  let now = 0;
  const mac2 = '0a:58:c0:a8:0a:07';
  const stats = new DhcpStats(silentLogger);
  const server = new TenantDhcpServer(fakeSocket(), {
    tenant: 'acme',
    lookup: (m) => (m === MAC ? B : m === mac2 ? { ...B, ip: '192.168.10.7' } : undefined),
    reach: async () => {},
    stats,
    limiter: new DhcpLimiter({ perSecond: 10, burst: 20, maxSources: 100, totalPerSecond: 1000 }, () => now),
    logger: silentLogger,
  });
  for (let i = 0; i < 200; i++) await server.handle(clientPacket(MessageType.REQUEST), '192.168.10.5');
  assert.equal(stats.get('rate-limited'), 180);
  assert.equal((await server.handle(clientPacket(MessageType.DISCOVER, { mac: mac2 }), '192.168.10.7')).result, 'offer', 'another container is not starved');
  now += 1000;
  assert.notEqual((await server.handle(clientPacket(MessageType.REQUEST), '192.168.10.5')).result, 'rate-limited', 'the bucket refills');
  server.close();
});

test("a forged chaddr cannot drain another client's bucket (the limit follows the pinned source, not the payload)", async () => {
  const victim = '0a:58:c0:a8:0a:07';
  const stats = new DhcpStats(silentLogger);
  const server = new TenantDhcpServer(fakeSocket(), {
    tenant: 'acme',
    lookup: (m) => (m === MAC ? B : m === victim ? { ...B, ip: '192.168.10.7' } : undefined),
    reach: async () => {},
    stats,
    limiter: new DhcpLimiter({ perSecond: 10, burst: 20, maxSources: 100, totalPerSecond: 100_000 }, () => 0),
    logger: silentLogger,
  });
  // The attacker at 192.168.10.5 sends 500 messages claiming the victim's MAC, from its address
  // and unconfigured (0.0.0.0: the kernel limits those per port, see nft.ts DHCP_FLOOD).
  for (let i = 0; i < 250; i++) await server.handle(clientPacket(MessageType.DISCOVER, { mac: victim }), '192.168.10.5');
  for (let i = 0; i < 250; i++) await server.handle(clientPacket(MessageType.DISCOVER, { mac: victim }), '0.0.0.0');
  assert.equal(stats.get('rate-limited'), 230, "the attacker's own source is limited");
  assert.equal((await server.handle(clientPacket(MessageType.DISCOVER, { mac: victim }), '0.0.0.0')).result, 'offer', 'the victim, unconfigured, is answered');
  assert.equal((await server.handle(clientPacket(MessageType.DISCOVER, { mac: victim }), '192.168.10.7')).result, 'offer', 'the victim, configured, is answered');
  server.close();
});
