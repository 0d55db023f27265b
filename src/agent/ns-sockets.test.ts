/**
 * The socket handoff on the real kernel (ADR 019): a child in a fresh namespace binds UDP and
 * TCP on an address that exists only there, hands them over, and exits; a DNS server in this
 * process then answers a client inside that namespace through them. An address the
 * namespace lacks is refused with the kernel's reason, next to the ones that bind. Then the
 * kernel's per-source DNS limit (nft.ts, ADR 019): a client flooding the server is dropped by
 * Tenet's own input rule before the socket, while another client keeps getting answers.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { after, before, test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { baseHash, DNS_FLOOD, rulesetScript } from '../datapath/nft.js';
import { NftSessionRunner } from '../datapath/nft-session.js';
import type { TenantPlan } from '../datapath/plan.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import { SourceLimiter } from '../dns/limits.js';
import { NetworkDnsServer } from '../dns/server.js';
import { DnsStats } from '../dns/stats.js';
import { TenantZone } from '../dns/zone.js';
import { bindInNamespace } from './ns-sockets.js';

const NS = `tnsock${randomBytes(3).toString('hex')}`;
const CLIENTS = { flooder: { ns: `${NS}a`, ip: '10.77.0.10' }, quiet: { ns: `${NS}b`, ip: '10.77.0.11' } };
const skip = kernelSkip('socket handoff into a namespace', ['ip', 'nsenter', 'dig', 'nft']);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

before(() => {
  if (skip) return;
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'add', 'b0', 'type', 'bridge');
  ip('-n', NS, 'addr', 'add', '10.77.0.1/24', 'dev', 'b0');
  ip('-n', NS, 'link', 'set', 'b0', 'up');
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  for (const [i, c] of Object.values(CLIENTS).entries()) {
    ip('netns', 'add', c.ns);
    ip('-n', NS, 'link', 'add', `vc${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.ns);
    ip('-n', NS, 'link', 'set', `vc${i}`, 'master', 'b0', 'up');
    ip('-n', c.ns, 'addr', 'add', `${c.ip}/24`, 'dev', 'eth0');
    ip('-n', c.ns, 'link', 'set', 'eth0', 'up');
  }
});
after(() => {
  if (skip) return;
  for (const ns of [NS, ...Object.values(CLIENTS).map((c) => c.ns)]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // Made only in part: the others are still removed.
    }
  }
});

test('sockets bound by a short-lived child in a namespace serve DNS from this process', { skip }, async () => {
  const bound = await bindInNamespace(`/run/netns/${NS}`, [
    { key: 'u', proto: 'udp', address: '10.77.0.1', port: 53 },
    { key: 't', proto: 'tcp', address: '10.77.0.1', port: 53 },
    { key: 'missing', proto: 'udp', address: '10.77.9.9', port: 53 },
  ]);
  const byKey = new Map(bound.map((b) => [b.key, b]));
  const missing = byKey.get('missing')!;
  assert.ok(!missing.ok && /EADDRNOTAVAIL/.test(missing.error), 'an address the namespace lacks is refused');
  const u = byKey.get('u')!;
  const t = byKey.get('t')!;
  assert.ok(u.ok && u.udp && t.ok && t.tcp);
  const zone = new TenantZone('acme', [{ name: 'red', subnet: '10.77.0.0/24' }], [{ fqdn: 'c1.red.acme', endpoint: 'c1', network: 'red', tenant: 'acme', ip: '10.77.0.5', ptr: '5.0.77.10.in-addr.arpa' }]);
  const server = new NetworkDnsServer(u.udp!, t.tcp!, { tenant: 'acme', network: 'red', zone: () => zone, stats: new DnsStats(silentLogger), limiter: new SourceLimiter(), logger: silentLogger });
  try {
    // Not execFileSync: the server answers from this process's event loop.
    const dig = async (...args: string[]) => (await promisify(execFile)('ip', ['netns', 'exec', NS, 'dig', '@10.77.0.1', '+short', '+time=2', '+tries=2', ...args])).stdout.trim();
    assert.equal(await dig('c1'), '10.77.0.5');
    assert.equal(await dig('+tcp', 'c1.red.acme'), '10.77.0.5');
    assert.equal(await dig('-x', '10.77.0.5'), 'c1.red.acme.');
  } finally {
    server.close();
  }
});

/** Tenet's tables for one network on b0, as the agent loads them (no ports pinned: the bridge table only drops tnv* ports). */
const PLAN: TenantPlan = {
  tenant: 'acme',
  ns: NS,
  ports: [],
  networks: [{ vni: 4101, bridge: 'b0', vxlan: 'unused', mtu: 1500, gatewayCidr: '10.77.0.1/24', gatewayMac: '02:00:00:00:00:01', vtep: '10.0.0.1', remotes: [], floodVteps: [] }],
};

/** The packets the flood rule dropped, from its counter. */
function floodDrops(): number {
  const list = JSON.parse(execFileSync('ip', ['netns', 'exec', NS, 'nft', '-j', 'list', 'chain', 'inet', 'tenet', 'input']).toString()) as { nftables: { rule?: { expr: Record<string, { packets?: number }>[] } }[] };
  const rule = list.nftables.flatMap((i) => i.rule ?? []).find((r) => r.expr.some((e) => (e.meter as { name?: string } | undefined)?.name === DNS_FLOOD.meter));
  assert.ok(rule, 'the flood rule is loaded');
  return rule.expr.find((e) => 'counter' in e)!.counter.packets!;
}

test('a client flooding DNS is dropped in the kernel, per source: another client keeps its answers', { skip }, async () => {
  execFileSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: rulesetScript(PLAN).script });
  // Then the in-place update (ADR 013) through a persistent nft session, as the agent does on a
  // policy change: the meter must load there too, and the flood below meets the rule it wrote.
  const inPlace = rulesetScript(PLAN, { base: baseHash(), objects: [], pinned: [] });
  assert.ok(inPlace.inPlace);
  const sessions = new NftSessionRunner();
  try {
    await sessions.run(['nsenter', `--net=/run/netns/${NS}`, 'nft', '-f', '-'], { input: inPlace.script });
  } finally {
    await sessions.close();
  }
  const bound = await bindInNamespace(`/run/netns/${NS}`, [{ key: 'u', proto: 'udp', address: '10.77.0.1', port: 53 }, { key: 't', proto: 'tcp', address: '10.77.0.1', port: 53 }]);
  const [u, t] = bound;
  assert.ok(u.ok && u.udp && t.ok && t.tcp);
  const zone = new TenantZone('acme', [{ name: 'red', subnet: '10.77.0.0/24' }], [{ fqdn: 'c1.red.acme', endpoint: 'c1', network: 'red', tenant: 'acme', ip: '10.77.0.5', ptr: '5.0.77.10.in-addr.arpa' }]);
  const server = new NetworkDnsServer(u.udp!, t.tcp!, { tenant: 'acme', network: 'red', zone: () => zone, stats: new DnsStats(silentLogger), limiter: new SourceLimiter(), logger: silentLogger });
  const run = promisify(execFile);
  const dig = async (ns: string) => (await run('ip', ['netns', 'exec', ns, 'dig', '@10.77.0.1', '+short', '+time=2', '+tries=3', 'c1'])).stdout.trim();
  try {
    // Positive control: both clients are answered, and the rule has dropped nothing.
    assert.equal(await dig(CLIENTS.flooder.ns), '10.77.0.5');
    assert.equal(await dig(CLIENTS.quiet.ns), '10.77.0.5');
    assert.equal(floodDrops(), 0);
    // Bounded: 20,000 queries, far more than the burst (800) plus a second at 400/s.
    const sent = 20_000;
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'c1' }] }).toString('hex');
    const flood = `const s=require('dgram').createSocket('udp4');const b=Buffer.from('${query}','hex');let n=0;const go=()=>{for(let i=0;i<500&&n<${sent};i++,n++)s.send(b,53,'10.77.0.1');n<${sent}?setImmediate(go):setTimeout(()=>s.close(),200)};go();`;
    const [, during] = await Promise.all([run('ip', ['netns', 'exec', CLIENTS.flooder.ns, process.execPath, '-e', flood]), dig(CLIENTS.quiet.ns)]);
    assert.equal(during, '10.77.0.5', 'the other client is answered during the flood');
    const dropped = floodDrops();
    assert.ok(dropped > 0 && dropped <= sent, `the kernel dropped part of the flood (${dropped} of ${sent})`);
    // The other client's queries are not its drops: answered, and the counter does not move.
    assert.equal(await dig(CLIENTS.quiet.ns), '10.77.0.5');
    assert.equal(floodDrops(), dropped);
  } finally {
    server.close();
  }
});
