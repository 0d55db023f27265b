/** quoteValue never throws and stays short; subnets no network can use are refused (issue #5). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quoteValue, validateName, validateSubnet } from './validate.js';

test('quoteValue: any value, at most ~64 characters, the original length when cut', () => {
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 20_000; i++) deep = { a: deep };
  const circular: Record<string, unknown> = { x: 1 };
  circular.self = circular;
  const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
  const cases: unknown[] = [deep, circular, hostile, 10n, Symbol('s'), () => 1, undefined, null, NaN, ['a', ['b', ['c', ['d']]]], 'x'.repeat(900_000)];
  for (const v of cases) {
    const q = quoteValue(v);
    assert.equal(typeof q, 'string');
    assert.ok(q.length <= 90, `${q.length}: ${q}`);
  }
  assert.equal(quoteValue('web1'), '"web1"');
  assert.match(quoteValue('x'.repeat(900_000)), /^"x{64}…" \(900000 characters\)$/);
  assert.equal(quoteValue(deep), '{"a":{"a":{…}}}');
  assert.throws(() => validateName('tenant', deep), (e: Error & { code?: string }) => e.code === 'INVALID_NAME' && e.message.length < 200);
});

test('subnets in reserved ranges are refused with the range and the reason', () => {
  const refused: [string, RegExp][] = [
    ['0.0.0.0/0', /overlaps 0\.0\.0\.0\/8/],
    ['0.0.0.0/24', /"this network"/],
    ['127.0.0.0/24', /127\.0\.0\.0\/8 \(loopback/],
    ['169.254.1.0/24', /link-local/],
    ['224.0.0.0/24', /multicast/],
    ['239.1.0.0/16', /multicast/],
    ['240.0.0.0/24', /reserved/],
    ['255.255.255.252/30', /broadcast/],
    ['96.0.0.0/3', /overlaps 127\.0\.0\.0\/8/],
  ];
  for (const [subnet, why] of refused) {
    assert.throws(() => validateSubnet(subnet), (e: Error & { code?: string }) => e.code === 'INVALID_CIDR' && why.test(e.message) && !e.message.includes('\n'), subnet);
  }
  for (const ok of ['10.0.0.0/8', '192.168.10.0/24', '172.16.0.0/12', '100.64.0.0/10', '1.0.0.0/24', '223.255.255.0/24']) {
    assert.equal(validateSubnet(ok).prefixLen, Number(ok.split('/')[1]), `positive control: ${ok} is accepted`);
  }
});
