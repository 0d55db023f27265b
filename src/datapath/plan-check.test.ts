/**
 * No caller string becomes a second command (issue #5): endpoints whose netns path holds a
 * newline or a space are fed through plan -> diff -> runner on the fake kernel; their ports
 * are refused with one clear line, nothing of their text reaches a batch, and a valid
 * endpoint in the same set() is built (the positive control). KernelOps itself refuses a
 * batch line or nft script with a control character before running anything.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { Datapath } from './datapath.js';
import { KernelOps, UnsafeCommandError } from './kernel-ops.js';
import { buildPlan } from './plan.js';
import { portProblem } from './plan-check.js';
import { RecordingRunner } from './runner.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { ep, host, net } from './testing/objects.js';
import { fakeOwnership } from './testing/ownership.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-plancheck-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const red = net('acme', 'red', '192.168.10.0/24', 4101);

test('a netns path with a newline or spaces never reaches a batch; a valid one in the same set() does', async () => {
  const good = join(dir, 'good');
  writeFileSync(good, '');
  const k = new FakeKernel();
  k.addWorkload(good);
  const evil = [
    ep('nl', red, 'h1', '192.168.10.3', `${good}\nlink del tnbr4101`),
    ep('sp', red, 'h1', '192.168.10.4', `${good} type dummy`),
    ep('cr', red, 'h1', '192.168.10.5', `${good}\r`),
    ep('dots', red, 'h1', '192.168.10.6', `${dir}/../etc/x`),
  ];
  const ok = ep('ok', red, 'h1', '192.168.10.2', good);
  const plan = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red], endpoints: [ok, ...evil], hosts: [host('h1', '10.0.0.1')] });
  const result = await new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) }).set(plan);

  assert.deepEqual([...result.failedPorts.keys()].sort(), ['cr', 'dots', 'nl', 'sp']);
  for (const err of result.failedPorts.values()) {
    assert.equal(err.code, 'BAD_REQUEST');
    assert.match(err.message, /netns path is unsafe/);
    assert.doesNotMatch(err.message, /\n/);
  }
  const sent = k.mutations.join('\n');
  assert.doesNotMatch(sent, /type dummy|link del tnbr|\.\.\/etc|\r/, 'no part of a bad path was run');
  assert.ok(sent.includes(`nsenter --net=${good} ip -batch -\n  link add tnv`), 'positive control: the valid port was made (from inside its namespace, port-create.ts)');
  assert.deepEqual([...result.failedNamespaces], []);
});

test('every plan value is a plain token: MAC, address, ifname', () => {
  const base = { endpointId: 'e', port: 'tnv0123456789', bridge: 'tnbr5', netns: '/run/netns/x', ifname: 'eth0', mac: '02:00:00:00:00:01', ipCidr: '10.0.0.2/24', gateway: '10.0.0.1', mtu: 1450, defaultRoute: true };
  assert.equal(portProblem(base), undefined);
  assert.match(portProblem({ ...base, mac: '02:00:00:00:00:01 up' })!, /MAC/);
  assert.match(portProblem({ ...base, ipCidr: '10.0.0.2/24\naddr flush' })!, /address/);
  assert.match(portProblem({ ...base, ifname: 'eth0 netns 1' })!, /interface/);
  assert.match(portProblem({ ...base, netns: 'relative/x' })!, /netns/);
});

test('KernelOps refuses a line with a control character before running anything', async () => {
  const runner = new RecordingRunner();
  const ops = new KernelOps(runner, silentLogger, fakeOwnership(new FakeKernel()));
  await assert.rejects(ops.batch(['ip', '-batch', '-'], ['link set lo up', 'link add a type dummy\nlink del eth0']), UnsafeCommandError);
  await assert.rejects(ops.batch(['bridge', '-batch', '-'], ['fdb add\0x']), UnsafeCommandError);
  await assert.rejects(ops.nft('tn-x', 'table inet tenet {}\r\nflush ruleset\n'), UnsafeCommandError);
  await assert.rejects(ops.fixWorkload('/run/netns/x', ['link set eth0 mtu 1400\u001b']), UnsafeCommandError);
  assert.deepEqual(runner.calls, [], 'nothing ran');
  await ops.batch(['ip', '-batch', '-'], ['link set lo up']);
  await ops.nft('tn-x', 'table inet tenet {}\ndelete table inet tenet\n');
  assert.equal(runner.calls.length, 2, 'positive control: plain lines run');
});
