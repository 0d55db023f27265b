/**
 * The socket handoff on the real kernel (ADR 019): a child in a fresh namespace binds UDP and
 * TCP on an address that exists only there, hands them over, and exits; a DNS server in this
 * process then answers a client inside that namespace through them. An address the
 * namespace lacks is refused with the kernel's reason, next to the ones that bind.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import { SourceLimiter } from '../dns/limits.js';
import { NetworkDnsServer } from '../dns/server.js';
import { DnsStats } from '../dns/stats.js';
import { TenantZone } from '../dns/zone.js';
import { bindInNamespace } from './ns-sockets.js';

const NS = `tnsock${randomBytes(3).toString('hex')}`;
const skip = kernelSkip('socket handoff into a namespace', ['ip', 'nsenter', 'dig']);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

before(() => {
  if (skip) return;
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'add', 'b0', 'type', 'bridge');
  ip('-n', NS, 'addr', 'add', '10.77.0.1/24', 'dev', 'b0');
  ip('-n', NS, 'link', 'set', 'b0', 'up');
  ip('-n', NS, 'link', 'set', 'lo', 'up');
});
after(() => {
  if (!skip) ip('netns', 'del', NS);
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
