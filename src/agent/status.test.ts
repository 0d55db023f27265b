/**
 * Status reports: a kernel error of any length is cut to the bound the controller stores
 * (model/limits.ts), so the report is never refused; it is written once, not per reconcile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ControllerClient } from '../api/client.js';
import type { EndpointStatusRequest } from '../api/types.js';
import { silentLogger } from '../base/logger.js';
import { ep, net } from '../datapath/testing/objects.js';
import { TenetError } from '../model/errors.js';
import { MAX_STATUS_DETAIL } from '../model/limits.js';
import { ObjectCache } from './cache.js';
import { StatusReporter } from './status.js';

test('status: a long kernel error is cut to the stored bound, says it was cut, and is reported once', async () => {
  const cache = new ObjectCache();
  const e = ep('e1', net('acme', 'web', '10.0.0.0/24', 4100), 'h1', '10.0.0.2', '/run/netns/c1');
  cache.putLocalEndpoint(e);
  const sent: EndpointStatusRequest[] = [];
  const controller = { setEndpointStatus: async (id: string, r: EndpointStatusRequest) => (sent.push(r), { ...e, status: r.status, statusDetail: r.detail }) } as unknown as ControllerClient;
  const reporter = new StatusReporter(controller, cache, silentLogger);
  const result = { failedPorts: new Map([['e1', new TenetError('DATAPATH_FAILED', `RTNETLINK answers: ${'x'.repeat(5000)}`)]]), failedNamespaces: new Map(), changed: [] };
  const plan = { nsPrefix: 'tn-', tenants: [] };
  assert.equal(await reporter.report('h1', plan, result), 1);
  assert.equal(await reporter.report('h1', plan, result, new Set(['acme'])), 1);
  assert.equal(sent.length, 1, 'reported once');
  assert.equal(sent[0]!.status, 'error');
  assert.equal(sent[0]!.detail!.length, MAX_STATUS_DETAIL);
  assert.match(sent[0]!.detail!, /^RTNETLINK answers: x+… \(cut\)$/);
  assert.equal(await reporter.report('h1', plan, result, new Set(['other'])), 0, 'another tenant weighs none of these');
});
