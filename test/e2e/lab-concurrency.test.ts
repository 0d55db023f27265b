/**
 * Issue 5: 16 concurrent `tenet lab run` shared one temporary file for the lab state, and one
 * failed with "ENOENT … rename", leaving a store endpoint whose namespace was deleted. Here 16
 * real CLI processes run at once against one lab: every one must succeed, the lab must list
 * all 16, the store must hold exactly their endpoints, and each container must answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint } from '../../src/model/types.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { TenetEnv } from '../support/procs.js';

const t = new TenetEnv();
const COUNT = 16;

describe('concurrent lab runs', { skip: kernelSkip('concurrent lab runs') }, () => {
  before(async () => {
    await t.startController();
    await t.okAll([['tenant', 'create', 'acme'], ['net', 'create', 'red', '--tenant', 'acme', '--subnet', '192.168.40.0/24'], ['lab', 'up', '--hosts', '1']]);
  });
  after(() => t.destroy());

  it(`${COUNT} concurrent \`tenet lab run\` all land, in the lab state and in the store`, async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `k${i}`);
    const results = await Promise.all(names.map((n) => t.tenet('lab', 'run', 'h1', n, '--tenant', 'acme', '--net', 'red')));
    const failed = results.flatMap((r, i) => (r.code === 0 ? [] : [`${names[i]}: ${r.stderr.trim()}`]));
    assert.deepEqual(failed, [], 'every lab run succeeded');

    const lab = JSON.parse((await t.tenet('lab', 'ls', '-o', 'json')).stdout) as { containers: { name: string; endpointId: string; ip: string }[] };
    assert.deepEqual(lab.containers.map((c) => c.name).sort(), [...names].sort(), 'the lab state lists every container');
    const endpoints = JSON.parse((await t.tenet('ep', 'ls', '-o', 'json')).stdout) as Endpoint[];
    assert.deepEqual(endpoints.map((e) => e.id).sort(), lab.containers.map((c) => c.endpointId).sort(), 'the store holds exactly their endpoints');
    assert.equal(new Set(endpoints.map((e) => e.ip)).size, COUNT, 'distinct addresses');

    // Each namespace the lab recorded is alive and attached: the first container reaches the last.
    const first = lab.containers.find((c) => c.name === 'k0')!;
    const last = lab.containers.find((c) => c.name === `k${COUNT - 1}`)!;
    const ping = await t.tenet('lab', 'exec', first.name, '--', 'ping', '-c1', '-W2', last.ip);
    assert.equal(ping.code, 0, `k0 -> k${COUNT - 1}: ${ping.stdout}${ping.stderr}`);
  });
});
