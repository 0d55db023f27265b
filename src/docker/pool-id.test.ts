import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPoolId, parsePoolId } from './pool-id.js';

test('pool ids carry subnet, range and the Tenet network when known; other ids parse to nothing', () => {
  const full = formatPoolId({ subnet: '10.1.0.0/24', range: '10.1.0.128/25', tenant: 'admin', network: 'red' }, 'ab12');
  assert.equal(full, 'tenet-pool:10.1.0.0/24:10.1.0.128/25:admin:red:ab12');
  assert.deepEqual(parsePoolId(full), { subnet: '10.1.0.0/24', range: '10.1.0.128/25', tenant: 'admin', network: 'red' });
  assert.deepEqual(parsePoolId(formatPoolId({ subnet: '10.2.0.0/16' })), { subnet: '10.2.0.0/16' });
  for (const other of ['tenet-0011223344556677', '', 'tenet-pool:::::', 'x:10.0.0.0/8::::n', 'tenet-pool:10.0.0.0/8:::']) assert.equal(parsePoolId(other), undefined, other);
});
