/** The markers a container carries: labels win over env; no tenant or network means no intent. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInspect } from './engine.js';
import { intentOf } from './markers.js';

const c = (env: string[], labels: Record<string, string> = {}): ContainerInspect => ({ Id: 'x', Name: '/n', State: { Running: true, Pid: 1 }, Config: { Env: env, Labels: labels } });

test('env and labels name tenant, network and address; labels win', () => {
  assert.deepEqual(intentOf(c(['TENET_TENANT=admin', 'TENET_NETWORK=red', 'TENET_IP=10.0.0.5'])), { tenant: 'admin', network: 'red', ip: '10.0.0.5' });
  assert.deepEqual(intentOf(c(['TENET_TENANT=admin', 'TENET_NETWORK=red'], { 'tenet.network': 'blue' })), { tenant: 'admin', network: 'blue' });
  assert.equal(intentOf(c(['TENET_TENANT=admin'])), undefined);
  assert.equal(intentOf(c(['PATH=/bin'])), undefined);
});
