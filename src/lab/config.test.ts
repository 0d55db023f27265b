import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultAgentArgv, planHost, resolveConfig, TENET_ENTRY } from './config.js';
import { hostBatch, underlayBatch } from './netns.js';
import { isAnyLabAgent, isLabAgent } from './procs.js';
import { loadState, saveState, type LabState } from './state.js';

const c = resolveConfig({ prefix: 'tt12ab', runDir: '/run/x', controllerSocket: '/run/x/tenet.sock' });

test('hosts are named h1..hN, with namespaces, sockets, logs and VTEPs derived from the prefix', () => {
  assert.deepEqual(planHost(c, 1), {
    name: 'h1',
    index: 1,
    netns: 'tt12ab-h1',
    vtep: '10.99.0.2',
    socket: '/run/x/lab/tt12ab-h1.sock',
    log: '/run/x/lab/tt12ab-h1.log',
    nsPrefix: 'tt12ab-h1-',
  });
  assert.equal(planHost(c, 16).vtep, '10.99.0.17');
  assert.equal(c.statePath, '/run/x/lab/tt12ab.json');
  assert.equal(c.controllerAddress, 'unix:/run/x/tenet.sock');
});

test('a prefix with a dash, upper case or too long is refused (it would blur lab boundaries)', () => {
  for (const prefix of ['t-t', 'TT', '1tt', 'abcdefghijk', '']) {
    assert.throws(() => resolveConfig({ prefix }), { code: 'LAB_ERROR' }, prefix);
  }
  assert.throws(() => resolveConfig({ underlayCidr: '10.99.0.0/28' }), { code: 'LAB_ERROR' });
});

test('the default agent argv runs tenet agent inside the host namespace', () => {
  assert.deepEqual(defaultAgentArgv(planHost(c, 2), c), [
    'nsenter', '--net=/run/netns/tt12ab-h2', process.execPath, TENET_ENTRY, 'agent',
    '--host', 'h2', '--controller', 'unix:/run/x/tenet.sock', '--listen', '/run/x/lab/tt12ab-h2.sock',
    '--cni-socket', '/run/x/lab/tt12ab-h2.cni.sock', '--ns-prefix', 'tt12ab-h2-', '--vtep-ip', '10.99.0.3', '--underlay-dev', 'eth0', '--underlay-name', 'lab-tt12ab',
  ]);
  assert.match(TENET_ENTRY, /dist\/src\/cmd\/tenet\.js$/);
});

test('underlay and host batches (golden text)', () => {
  const hosts = [planHost(c, 1), planHost(c, 2)];
  assert.equal(
    underlayBatch(hosts),
    [
      'link set lo up',
      'link add ul0 mtu 1500 type bridge',
      'link set ul0 up',
      'link add ul-h1 mtu 1500 type veth peer name eth0 mtu 1500 netns tt12ab-h1',
      'link set ul-h1 master ul0 up',
      'link add ul-h2 mtu 1500 type veth peer name eth0 mtu 1500 netns tt12ab-h2',
      'link set ul-h2 master ul0 up',
      '',
    ].join('\n'),
  );
  assert.equal(hostBatch(hosts[0]!, 24), 'link set lo up\nlink set eth0 up\naddr add 10.99.0.2/24 dev eth0\n');
});

test('agents are recognised by command line, and only those of this lab and host', () => {
  const cmd = '/usr/bin/node /x/tenet.js agent --host h1 --ns-prefix tt12ab-h1- --vtep-ip 10.99.0.2';
  assert.ok(isLabAgent(cmd, 'tt12ab-h1-'));
  assert.ok(!isLabAgent(cmd, 'tt12ab-h2-'));
  assert.ok(isAnyLabAgent(cmd, 'tt12ab'));
  assert.ok(!isAnyLabAgent(cmd, 'tt12a'));
  assert.ok(!isAnyLabAgent(cmd.replace(' agent ', ' controller '), 'tt12ab'));
  assert.ok(!isAnyLabAgent('', 'tt12ab'));
});

test('state round-trips through its file, and a damaged file reads as no state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-lab-state-'));
  try {
    const path = join(dir, 'lab', 'x.json');
    const state: LabState = {
      version: 1, prefix: 'x', controllerSocket: '/s', underlayNs: 'x-ul', underlayCidr: '10.99.0.0/24',
      createdAt: 'now', hosts: [{ ...planHost(c, 1), pid: 42 }], containers: [],
    };
    saveState(path, state);
    assert.deepEqual(loadState(path), state);
    writeFileSync(path, '{"version":1,"hos');
    assert.equal(loadState(path), undefined);
    assert.equal(loadState(join(dir, 'missing.json')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
