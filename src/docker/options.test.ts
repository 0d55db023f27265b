/** Docker names and options in Tenet's terms, and the plugin wire rules (empty bodies, errors as {"Err"}). */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { recordingLogger } from '../controller/testing.js';
import { dockerName, fromDockerName, parseNetworkOptions } from './options.js';
import { parseBody, pluginServer } from './plugin-server.js';

test('docker names: NAME for the default tenant, NAME/TENANT otherwise, and back', () => {
  assert.equal(dockerName('default', 'red', 'default'), 'red');
  assert.equal(dockerName('blue', 'contiv-net', 'default'), 'contiv-net/blue');
  assert.deepEqual(fromDockerName('contiv-net/blue', undefined, 'default'), { tenant: 'blue', network: 'contiv-net' });
  assert.deepEqual(fromDockerName('red', 'admin', 'default'), { tenant: 'admin', network: 'red' });
  assert.throws(() => fromDockerName('red/blue', 'admin', 'default'), /says tenant blue but -o tenant=admin/);
});

test('network options: known -o keys honoured, unknown ones and --ipv6 refused', () => {
  const o = parseNetworkOptions({ 'com.docker.network.generic': { tenant: 'admin', mtu: '1400', vni: '5000' }, 'com.docker.network.internal': true });
  assert.deepEqual(o, { tenant: 'admin', mtu: 1400, vni: 5000, internal: true });
  assert.throws(() => parseNetworkOptions({ 'com.docker.network.generic': { colour: 'x' } }), /unknown option -o colour/);
  assert.throws(() => parseNetworkOptions({ 'com.docker.network.enable_ipv6': true }), /IPv4 only/);
  assert.deepEqual(parseNetworkOptions(null), { internal: false });
});

test('network options: MTU and VNI are checked before dockerd records the network; the bridge MTU key is taken', () => {
  assert.equal(parseNetworkOptions({ 'com.docker.network.generic': { 'com.docker.network.driver.mtu': '1450' } }).mtu, 1450);
  assert.equal(parseNetworkOptions({ 'com.docker.network.generic': { mtu: '0' } }).mtu, undefined);
  assert.throws(() => parseNetworkOptions({ 'com.docker.network.generic': { mtu: '100' } }), /invalid MTU 100/);
  assert.throws(() => parseNetworkOptions({ 'com.docker.network.generic': { vni: '99999999' } }), /invalid VNI 99999999/);
});

test('the plugin server tolerates empty bodies, answers JSON, and fails with {"Err"} and HTTP 500', async () => {
  assert.deepEqual(parseBody(''), {});
  assert.deepEqual(parseBody('null'), {});
  const server = pluginServer({ '/Plugin.Activate': () => ({ Implements: ['NetworkDriver'] }), '/X.Fail': () => { throw new Error('no tenant x: create it'); }, '/X.Slow': () => new Promise(() => undefined) }, recordingLogger([]), 200);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const post = (path: string) => new Promise<{ status: number; body: unknown }>((resolve) => {
    http.request({ port, host: '127.0.0.1', method: 'POST', path }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(t) }));
    }).end();
  });
  try {
    assert.deepEqual(await post('/Plugin.Activate'), { status: 200, body: { Implements: ['NetworkDriver'] } });
    assert.deepEqual(await post('/X.Fail'), { status: 500, body: { Err: 'no tenant x: create it' } });
    const slow = await post('/X.Slow');
    assert.equal(slow.status, 500);
    assert.match((slow.body as { Err: string }).Err, /did not finish \/X\.Slow/);
    assert.equal((await post('/Nope')).status, 404);
  } finally {
    server.close();
  }
});
