/** `tenet ep expose/unexpose` argument parsing and list edits (ADR 016). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPort, parsePortSpec, withoutPorts, withPorts } from './ep-ports.js';

test('parsePortSpec: HOSTPORT:PORT[/proto], HOSTIP:HOSTPORT:PORT, --host-ip as default; bad specs get one sentence', () => {
  assert.deepEqual(parsePortSpec('8080:80'), { hostPort: 8080, port: 80, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('53:5353/UDP'), { hostPort: 53, port: 5353, proto: 'udp' });
  assert.deepEqual(parsePortSpec('8080:80', '10.0.0.1'), { hostPort: 8080, port: 80, proto: 'tcp', hostIp: '10.0.0.1' });
  assert.deepEqual(parsePortSpec('10.0.0.2:8080:80/tcp', '10.0.0.1'), { hostPort: 8080, port: 80, proto: 'tcp', hostIp: '10.0.0.2' });
  for (const bad of ['8080', '8080:80/sctp', 'a:80', '0:80', '8080:99999', '8080:80:90']) assert.match(String(parsePortSpec(bad)), /^invalid port '/);
  assert.deepEqual(parseHostPort('8080'), { hostPort: 8080 });
  assert.deepEqual(parseHostPort('8080/udp'), { hostPort: 8080, proto: 'udp' });
  assert.match(String(parseHostPort('8080:80')), /^invalid host port/);
});

test('withPorts replaces a host port given again; withoutPorts removes named ones (both protocols without one), all without names', () => {
  const tcp = { hostPort: 8080, port: 80, proto: 'tcp' as const };
  const udp = { hostPort: 8080, port: 80, proto: 'udp' as const };
  const other = { hostPort: 9090, port: 90, proto: 'tcp' as const };
  assert.deepEqual(withPorts([tcp, other], [{ ...tcp, port: 81 }]), [other, { ...tcp, port: 81 }]);
  assert.deepEqual(withoutPorts([tcp, udp, other], [{ hostPort: 8080 }]), [other]);
  assert.deepEqual(withoutPorts([tcp, udp, other], [{ hostPort: 8080, proto: 'udp' }]), [tcp, other]);
  assert.deepEqual(withoutPorts([tcp, other], []), []);
  assert.match(String(withoutPorts([tcp], [{ hostPort: 7070 }])), /publishes no host port 7070 \(it publishes 8080\/tcp\)/);
});
