/** resolveRates: selectors to endpoints, the lowest limit wins per direction, other tenants untouched. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../model/policy.js';
import { ep, net } from '../datapath/testing/objects.js';
import { resolveRates } from './policy-rates.js';

const red = net('acme', 'red', '192.168.10.0/24', 4101);
const green = net('acme', 'green', '192.168.20.0/24', 4102);
const blue = net('beta', 'blue', '192.168.10.0/24', 4201);
const web = { ...ep('w1', red, 'h1', '192.168.10.2', '/run/netns/a'), labels: { tier: 'web' } };
const db = ep('d1', green, 'h1', '192.168.20.2', '/run/netns/b');
const other = { ...ep('o1', blue, 'h1', '192.168.10.2', '/run/netns/c'), labels: { tier: 'web' } };
const policy = (tenant: string, rates: Policy['rates']): Policy => ({ id: `p-${tenant}`, tenant, name: 'p', rules: [], rates, createdAt: '', updatedAt: '' });

test('rate limits resolve to endpoints; the lowest of several wins, per direction', () => {
  const got = resolveRates(
    [
      policy('acme', [
        { target: { kind: 'group', key: 'tier', value: 'web' }, egressBps: 20e6, ingressBps: 50e6 },
        { target: { kind: 'net', name: 'red' }, egressBps: 30e6, ingressBps: 10e6 },
        { target: { kind: 'ep', id: 'd1' }, ingressBps: 5e6 },
        { target: { kind: 'cidr', cidr: '192.168.20.0/24' }, ingressBps: 7e6 },
      ]),
    ],
    [web, db, other],
    [red, green, blue],
  );
  assert.deepEqual(got.get('w1'), { egressBps: 20e6, ingressBps: 10e6 });
  assert.deepEqual(got.get('d1'), { ingressBps: 5e6 });
  assert.equal(got.has('o1'), false, "another tenant's endpoint with the same label");
});

test('a policy not in force for an endpoint limits nothing there', () => {
  const p = policy('acme', [{ target: { kind: 'any' }, egressBps: 1e6 }]);
  assert.equal(resolveRates([p], [web], [red], () => false).size, 0);
  assert.deepEqual(resolveRates([p], [web], [red]).get('w1'), { egressBps: 1e6 });
});
