/**
 * The tenet Docker driver against a real dockerd (its own, test/support/dockerd.ts) and a real
 * `tenet up --docker`: networks made on either side appear on the other, containers get
 * Tenet addresses, the Tenet gateway and MTU, reach each other, connect and disconnect, keep
 * their traffic across an agent restart; a dockerd restart releases the endpoints of the
 * containers it stopped; bad input gets Docker's error and leaves nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUSYBOX_IMAGE as IMAGE, TestDockerd } from '../support/dockerd.js';
import { eventually, TenetUp, type Out } from '../support/tenet-up.js';

const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `tenet-dk-${suffix}-`));
const dockerd = new TestDockerd({ ownPlugins: true });
const tenet = new TenetUp(dir, `dk-${suffix}`, `tdk${suffix}-`, dockerd);
const docker = (...a: string[]) => dockerd.cli(...a);
// VXLAN devices of every Tenet on this machine share the host's UDP 4789: VNIs of our own,
// so a test or benchmark running beside this one (same first automatic VNI) never clashes.
const VNI = 300_000 + randomBytes(2).readUInt16BE() * 4;

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}

const ipOf = async (c: string, net: string) => ok(await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c), 'inspect');
const dockerNets = async () => ok(await docker('network', 'ls', '--format', '{{.Name}} {{.Driver}}'), 'network ls');
const tenetNets = async () => JSON.parse(ok(await tenet.tenet('-o', 'json', 'net', 'ls'), 'tenet net ls')) as { tenant: string; name: string; subnet: string }[];

before(() => tenet.setUp('admin'));
after(() => tenet.tearDown());

test('tenet docker setup finds dockerd and the plugin, and writes a spec file for a socket outside /run/docker/plugins', async () => {
  const out = ok(await tenet.tenet('docker', 'setup', '--docker-socket', dockerd.socket, '--docker-plugin-socket', join(dockerd.pluginDir, 'tenet.sock'), '--spec-dir', join(dir, 'spec')), 'setup');
  assert.match(out, /dockerd 20\.10/);
  assert.match(out, /wrote .*tenet\.spec/); // the test's plugin dir is not /run/docker/plugins, so a spec is written
  assert.match(out, /serves the tenet driver/);
});

test('docker network create -d tenet makes the Tenet network; containers get Tenet addresses, gateway and MTU, and reach each other', async () => {
  ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.77.0/24', '-o', 'tenant=admin', '-o', `vni=${VNI}`, 'red'), 'network create');
  assert.ok(await eventually(async () => (await tenetNets()).some((n) => n.tenant === 'admin' && n.name === 'red' && n.subnet === '192.168.77.0/24')), 'red appears in tenet net ls');
  ok(await docker('run', '-d', '--name', 'c1', '--net=red', IMAGE, 'sleep', '600'), 'run c1');
  ok(await docker('run', '-d', '--name', 'c2', '--net=red', '--ip', '192.168.77.50', IMAGE, 'sleep', '600'), 'run c2 --ip');
  const ip1 = await ipOf('c1', 'red');
  assert.match(ip1, /^192\.168\.77\.\d+$/);
  assert.equal(await ipOf('c2', 'red'), '192.168.77.50');
  assert.match(ok(await docker('exec', 'c1', 'ip', 'route'), 'route'), /default via 192\.168\.77\.1 dev eth0/);
  const eps = JSON.parse(ok(await tenet.tenet('-o', 'json', 'ep', 'ls', '--tenant', 'admin', '--net', 'red'), 'ep ls')) as { ip: string; mtu?: number; status: string }[];
  const mine = eps.find((e) => e.ip === ip1)!;
  assert.equal(mine.status, 'up');
  assert.match(ok(await docker('exec', 'c1', 'cat', '/sys/class/net/eth0/mtu'), 'mtu'), new RegExp(`^${mine.mtu}$`));
  ok(await docker('exec', 'c2', 'ping', '-c', '2', '-W', '2', ip1), 'c2 pings c1');
  assert.doesNotMatch(await dockerNets(), /docker_gwbridge/);
});

test('bad input gets the plugin error in Docker, and leaves nothing in Tenet or Docker', async () => {
  const before = await tenetNets();
  const unknown = await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.90.0/24', '-o', 'tenant=nope', 'bad1');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no tenant nope.*tenet tenant create nope/);
  const clash = await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.77.128/25', '-o', 'tenant=admin', 'bad2');
  assert.match(clash.stderr, /overlaps network red/);
  const opt = await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.91.0/24', '-o', 'tenant=admin', '-o', 'colour=blue', 'bad3');
  assert.match(opt.stderr, /unknown option -o colour/);
  // --ip-range and the other options: docker-options.test.ts.
  const inUse = await docker('run', '-d', '--name', 'c9', '--net=red', '--ip', '192.168.77.50', IMAGE, 'sleep', '60');
  assert.notEqual(inUse.code, 0);
  assert.match(inUse.stderr, /192\.168\.77\.50.*held by/);
  const outside = await docker('run', '-d', '--name', 'c10', '--net=red', '--ip', '10.9.9.9', IMAGE, 'sleep', '60');
  assert.notEqual(outside.code, 0);
  const rmInUse = await docker('network', 'rm', 'red');
  assert.notEqual(rmInUse.code, 0, 'a network with containers is not removed');
  const tenetRm = await tenet.tenet('net', 'rm', 'red', '--tenant', 'admin');
  assert.match(tenetRm.stderr, /endpoint/);
  assert.doesNotMatch(await dockerNets(), /bad\d/);
  assert.deepEqual((await tenetNets()).map((n) => n.name).sort(), before.map((n) => n.name).sort());
  ok(await docker('exec', 'c2', 'ping', '-c', '1', '-W', '2', await ipOf('c1', 'red')), 'red still works after the refusals');
});

test('a network made with tenet net create appears in docker as NAME/TENANT; connect and disconnect work', async () => {
  ok(await tenet.tenet('net', 'create', 'green', '--tenant', 'admin', '--subnet', '192.168.78.0/24', '--vni', String(VNI + 1)), 'net create');
  // The sync polls every 2 s; on a loaded machine a round (two lists, a docker network create through
  // our own IPAM driver) has taken over 15 s: wait up to a minute rather than assert a timing.
  assert.ok(await eventually(async () => (await dockerNets()).includes('green/admin tenet'), 240), 'green/admin in docker network ls');
  ok(await docker('network', 'connect', 'green/admin', 'c1'), 'connect');
  const ip = await ipOf('c1', 'green/admin');
  assert.match(ip, /^192\.168\.78\.\d+$/);
  assert.match(ok(await docker('exec', 'c1', 'ip', 'addr', 'show', 'eth1'), 'eth1'), new RegExp(ip.replace(/\./g, '\\.')));
  ok(await docker('run', '--rm', '--net=green/admin', IMAGE, 'ping', '-c', '1', '-W', '2', ip), 'Contiv-style --net=NAME/TENANT reaches c1');
  ok(await docker('network', 'disconnect', 'green/admin', 'c1'), 'disconnect');
  assert.notEqual((await docker('exec', 'c1', 'ip', 'link', 'show', 'eth1')).code, 0, 'eth1 is gone');
  ok(await docker('exec', 'c1', 'ip', 'link', 'show', 'eth0'), 'eth0 stays (positive control)');
});

test('the agent restarts while containers run: traffic keeps flowing, later creates work', async () => {
  const ip1 = await ipOf('c1', 'red');
  await tenet.stop();
  ok(await docker('exec', 'c2', 'ping', '-c', '1', '-W', '2', ip1), 'traffic while the agent is down');
  await tenet.start();
  ok(await docker('exec', 'c2', 'ping', '-c', '1', '-W', '2', ip1), 'traffic after the restart');
  ok(await docker('run', '-d', '--name', 'c3', '--net=red', IMAGE, 'sleep', '600'), 'run after restart');
  ok(await docker('exec', 'c3', 'ping', '-c', '1', '-W', '2', ip1), 'c3 reaches c1');
});

test('docker network create NAME/TENANT without -o tenant= (no default tenant here) makes tenant admin\'s network; a plain NAME needing the missing default tenant is removed', async () => {
  ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.79.0/24', '-o', `vni=${VNI + 2}`, 'pink/admin'), 'create pink/admin');
  assert.ok(await eventually(async () => (await tenetNets()).some((n) => n.tenant === 'admin' && n.name === 'pink' && n.subnet === '192.168.79.0/24')), 'admin/pink appears in tenet net ls');
  assert.match(ok(await docker('run', '--rm', '--net=pink/admin', IMAGE, 'ip', 'route'), 'run on pink/admin'), /default via 192\.168\.79\.1/);
  ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.80.0/24', '-o', `vni=${VNI + 3}`, 'plain'), 'create plain (its tenant is checked once the sync reads the name)');
  assert.ok(await eventually(async () => !(await dockerNets()).includes('plain ')), 'plain removed from docker: there is no tenant default');
  assert.ok(!(await tenetNets()).some((n) => n.name === 'plain'), 'and never made in Tenet');
  assert.ok((await dockerNets()).includes('pink/admin tenet'), 'pink/admin stays (positive control)');
  ok(await docker('network', 'rm', 'pink/admin'), 'rm pink/admin');
});

test('dockerd restarted: the endpoints of the containers it stopped are released, their addresses free; containers started again and new runs work', async () => {
  ok(await docker('run', '-d', '--name', 'c4', '--net=red', IMAGE, 'sleep', '600'), 'run c4');
  const ip4 = await ipOf('c4', 'red');
  const eps = async () => JSON.parse(ok(await tenet.tenet('-o', 'json', 'ep', 'ls', '--tenant', 'admin', '--net', 'red'), 'ep ls')) as { ip: string }[];
  const held = async () => ok(await tenet.tenet('-o', 'json', 'ip', 'ls', '--tenant', 'admin', '--net', 'red'), 'ip ls');
  const quoted = new RegExp(`"${ip4.replace(/\./g, '\\.')}"`);
  assert.ok((await eps()).some((e) => e.ip === ip4), 'c4 has its endpoint before the restart (positive control)');
  assert.match(await held(), quoted, `${ip4} is held before the restart (positive control)`);
  await dockerd.restart(); // no live-restore: dockerd stops its containers
  assert.ok(await eventually(async () => (await eps()).length === 0), 'the endpoints of c1-c4 are released (no ghost)');
  assert.doesNotMatch(await held(), quoted, `${ip4} is free again`);
  ok(await docker('start', 'c1'), 'c1 starts again');
  const ip1 = await ipOf('c1', 'red');
  ok(await docker('run', '--rm', '--net=red', IMAGE, 'ping', '-c', '1', '-W', '2', ip1), 'a new run reaches c1 after the restart');
});

test('removing on either side removes on both once no container uses it', async () => {
  ok(await docker('rm', '-f', 'c1', 'c2', 'c3', 'c4'), 'rm containers');
  ok(await docker('network', 'rm', 'red'), 'docker network rm red');
  assert.ok(!(await tenetNets()).some((n) => n.name === 'red'), 'red gone from Tenet');
  ok(await tenet.tenet('net', 'rm', 'green', '--tenant', 'admin'), 'tenet net rm green');
  assert.ok(await eventually(async () => !(await dockerNets()).includes('green/admin')), 'green/admin gone from docker');
  assert.equal((await tenetNets()).length, 0);
});
