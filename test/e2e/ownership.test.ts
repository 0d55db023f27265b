/**
 * Issue 5: Tenet deleted any namespace whose name started with its prefix, so a user's own
 * namespace `tenet-foo` could be destroyed. With real processes: a namespace of the user's
 * named like a tenant namespace of lab host h1 survives the agent's restart (whose first full
 * reconcile removes stale tenant namespaces) and later changes, while a tenant namespace
 * Tenet made and no longer needs is removed (the positive control: removal still works).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { TenetEnv } from '../support/procs.js';

const t = new TenetEnv();
const ok = (...args: string[]) => t.ok(...args);

describe('Tenet removes only the namespaces it made', { skip: kernelSkip('namespace ownership') }, () => {
  before(() => t.startController());
  after(() => t.destroy());

  it("keeps a user's namespace that looks like a tenant namespace, and removes its own stale one", async () => {
    await ok('tenant', 'create', 'acme');
    await ok('tenant', 'create', 'beta');
    await ok('net', 'create', 'red', '--tenant', 'acme', '--subnet', '192.168.10.0/24');
    await ok('net', 'create', 'blue', '--tenant', 'beta', '--subnet', '192.168.10.0/24');
    await ok('lab', 'up', '--hosts', '1');
    await ok('lab', 'run', 'h1', 'a1', '--tenant', 'acme', '--net', 'red');
    await ok('lab', 'run', 'h1', 'b1', '--tenant', 'beta', '--net', 'blue');
    const mine = `/run/netns/${t.prefix}-h1-mine`; // what a tenant "mine" of h1 would be called
    const beta = `/run/netns/${t.prefix}-h1-beta`;
    execFileSync('ip', ['netns', 'add', `${t.prefix}-h1-mine`]);
    execFileSync('ip', ['-n', `${t.prefix}-h1-mine`, 'link', 'add', 'tnv0123456789', 'type', 'veth', 'peer', 'name', 'tnv9876543210']);

    await ok('lab', 'restart', 'h1'); // its first full reconcile looks at every namespace of its prefix
    await ok('lab', 'rm', 'b1'); // beta leaves h1: its tenant namespace is stale now
    await waitFor(() => !existsSync(beta) || undefined, 10_000, `${beta} to be removed`);

    assert.ok(existsSync(mine), "the user's namespace is still there");
    const links = execFileSync('ip', ['-n', `${t.prefix}-h1-mine`, '-o', 'link', 'show'], { encoding: 'utf8' });
    assert.match(links, /tnv0123456789/, 'and nothing in it was touched, even Tenet-looking links');
    const ping = await t.tenet('lab', 'exec', 'a1', '--', 'ping', '-c1', '-W1', '192.168.10.1');
    assert.equal(ping.code, 0, 'the agent kept working: a1 reaches its gateway');
  });
});
