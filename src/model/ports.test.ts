/** Published port validation (ADR 016): what a request may carry, and when two mappings clash. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clashes, mappingText, MAX_PORTS, validatePorts } from './ports.js';

test('validatePorts: keeps good mappings (0.0.0.0 means all addresses), refuses bad ones with one line', () => {
  assert.deepEqual(validatePorts([{ hostPort: 8080, port: 80, proto: 'tcp', hostIp: '0.0.0.0' }, { hostPort: 53, port: 53, proto: 'udp', hostIp: '10.0.0.1' }]), [
    { hostPort: 8080, port: 80, proto: 'tcp' },
    { hostPort: 53, port: 53, proto: 'udp', hostIp: '10.0.0.1' },
  ]);
  assert.deepEqual(validatePorts([]), []);
  const bad: [unknown, RegExp][] = [
    ['8080:80', /must be a list/],
    [[{ hostPort: 0, port: 80, proto: 'tcp' }], /invalid port mapping/],
    [[{ hostPort: 8080, port: 65536, proto: 'tcp' }], /invalid port mapping/],
    [[{ hostPort: 8080.5, port: 80, proto: 'tcp' }], /invalid port mapping/],
    [[{ hostPort: 8080, port: 80, proto: 'sctp' }], /invalid port mapping/],
    [[null], /invalid port mapping/],
    [[{ hostPort: 8080, port: 80, proto: 'tcp' }, { hostPort: 8080, port: 81, proto: 'tcp' }], /given twice/],
    [Array.from({ length: MAX_PORTS + 1 }, (_, i) => ({ hostPort: i + 1, port: 80, proto: 'tcp' })), /at most 32/],
  ];
  for (const [ports, why] of bad) assert.throws(() => validatePorts(ports), (e: any) => e.code === 'INVALID_PORT' && why.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => validatePorts([{ hostPort: 1, port: 1, proto: 'tcp', hostIp: '300.1.1.1' }]), { code: 'INVALID_IP' });
  assert.equal(mappingText({ hostPort: 53, port: 5353, proto: 'udp', hostIp: '10.0.0.1' }), '10.0.0.1:53:5353/udp');
});

test('clashes: same protocol and host port, and an address in common (none means all)', () => {
  const t = (hostPort: number, proto: 'tcp' | 'udp' = 'tcp', hostIp?: string) => ({ hostPort, port: 80, proto, ...(hostIp ? { hostIp } : {}) });
  assert.ok(clashes(t(80), t(80)));
  assert.ok(clashes(t(80), t(80, 'tcp', '10.0.0.1')));
  assert.ok(!clashes(t(80), t(80, 'udp')));
  assert.ok(!clashes(t(80), t(81)));
  assert.ok(!clashes(t(80, 'tcp', '10.0.0.1'), t(80, 'tcp', '10.0.0.2')));
});
