/**
 * `docker network create` options on a real dockerd (test/support/dockerd.ts) and a real `tenet
 * up --docker`: each is either honoured, with its effect checked in Tenet and inside a
 * container, or refused with one clear line and nothing left in Tenet or in Docker.
 * --internal means: containers get no default route (Join names no gateway), so they reach
 * their own subnet only; the Tenet network itself is unchanged.
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
const dir = mkdtempSync(join(tmpdir(), `tenet-dko-${suffix}-`));
const dockerd = new TestDockerd({ ownPlugins: true });
const tenet = new TenetUp(dir, `dko-${suffix}`, `tdo${suffix}-`, dockerd);
const docker = (...a: string[]) => dockerd.cli(...a);
const CREATE = ['network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '-o', 'tenant=admin'];
// VXLAN devices of every Tenet on this machine share the host's UDP 4789: a VNI of our own,
// so a test or benchmark running beside this one (same first automatic VNI) never clashes.
const VNI = 200_000 + randomBytes(2).readUInt16BE();

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}

function refused(out: Out, pattern: RegExp, what: string): void {
  assert.notEqual(out.code, 0, `${what} was accepted`);
  assert.match(out.stderr, pattern, what);
}

interface ShownNetwork {
  network: { subnet: string; gateway: string; mtu: number; vni: number };
  endpoints: { ip: string }[];
}

const ipOf = async (c: string, net: string) => ok(await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c), 'inspect');
const show = async (net: string) => JSON.parse(ok(await tenet.tenet('-o', 'json', 'net', 'show', net, '--tenant', 'admin'), `net show ${net}`)) as ShownNetwork;
const tenetNets = async () => JSON.parse(ok(await tenet.tenet('-o', 'json', 'net', 'ls'), 'tenet net ls')) as { name: string }[];
const dockerNets = async () => ok(await docker('network', 'ls', '--format', '{{.Name}}'), 'network ls').split('\n');
const shown = (net: string) => eventually(async () => (await tenetNets()).some((n) => n.name === net));

before(() => tenet.setUp('admin'));
after(() => tenet.tearDown());

test('--gateway, --ip-range, --aux-address, -o mtu=, -o vni= and labels are honoured, in Tenet and in the container', async () => {
  // The range 192.168.81.128/30 holds .128-.131; .129 and .130 are aux addresses: .128 and .131 are all there is.
  ok(await docker(...CREATE, '--subnet', '192.168.81.0/24', '--gateway', '192.168.81.254', '--ip-range', '192.168.81.128/30',
    '--aux-address', 'a=192.168.81.129', '--aux-address', 'b=192.168.81.130', '-o', 'mtu=1400', '-o', `vni=${VNI}`, '--label', 'team=blue', 'opts'), 'create opts');
  assert.ok(await shown('opts'), 'opts appears in tenet net ls');
  const { network } = await show('opts');
  assert.deepEqual([network.gateway, network.mtu, network.vni], ['192.168.81.254', 1400, VNI]);
  assert.equal(ok(await docker('network', 'inspect', '-f', '{{index .Labels "team"}}', 'opts'), 'inspect labels'), 'blue');
  const aux = ok(await tenet.tenet('-o', 'json', 'ip', 'ls', '--tenant', 'admin', '--net', 'opts'), 'ip ls');
  assert.match(aux, /192\.168\.81\.129/);
  assert.match(aux, /192\.168\.81\.130/);

  ok(await docker('run', '-d', '--name', 'o1', '--net=opts', IMAGE, 'sleep', '600'), 'run o1');
  ok(await docker('run', '-d', '--name', 'o2', '--net=opts', IMAGE, 'sleep', '600'), 'run o2');
  assert.deepEqual([await ipOf('o1', 'opts'), await ipOf('o2', 'opts')].sort(), ['192.168.81.128', '192.168.81.131'], 'drawn from the range, never an aux address');
  assert.match(ok(await docker('exec', 'o1', 'ip', 'route'), 'route'), /default via 192\.168\.81\.254 dev eth0/);
  assert.equal(ok(await docker('exec', 'o1', 'cat', '/sys/class/net/eth0/mtu'), 'mtu'), '1400');
  ok(await docker('exec', 'o2', 'ping', '-c', '1', '-W', '2', await ipOf('o1', 'opts')), 'o2 reaches o1');

  const full = await docker('run', '--rm', '--net=opts', IMAGE, 'true');
  refused(full, /every address of --ip-range 192\.168\.81\.128\/30/, 'a run with the range used up');
  ok(await docker('run', '--rm', '--net=opts', '--ip', '192.168.81.20', IMAGE, 'true'), '--ip outside the range, inside the subnet (as Docker allows)');
  refused(await docker('run', '--rm', '--net=opts', '--ip', '192.168.81.129', IMAGE, 'true'), /192\.168\.81\.129/, '--ip of an aux address');
  refused(await docker('run', '--rm', '--net=opts', '--ip', '192.168.81.128', IMAGE, 'true'), /192\.168\.81\.128.*held by/, '--ip in use');
  refused(await docker('run', '--rm', '--net=opts', '--ip', '10.9.9.9', IMAGE, 'true'), /10\.9\.9\.9/, '--ip outside the subnet');
  assert.equal((await show('opts')).endpoints.length, 2, 'the refused runs left no endpoint');
});

test('--internal: no default route in the container, its own subnet still reachable', async () => {
  ok(await docker(...CREATE, '--subnet', '192.168.82.0/24', '--internal', '-o', `vni=${VNI + 1}`, 'inner'), 'create inner');
  assert.ok(await shown('inner'));
  assert.equal(ok(await docker('network', 'inspect', '-f', '{{.Internal}}', 'inner'), 'inspect'), 'true');
  ok(await docker('run', '-d', '--name', 'i1', '--net=inner', IMAGE, 'sleep', '600'), 'run i1');
  const routes = ok(await docker('exec', 'i1', 'ip', 'route'), 'route');
  assert.doesNotMatch(routes, /default/);
  assert.match(routes, /192\.168\.82\.0\/24 dev eth0/);
  ok(await docker('run', '--rm', '--net=inner', IMAGE, 'ping', '-c', '1', '-W', '2', await ipOf('i1', 'inner')), 'a peer on the internal network answers (positive control)');
  ok(await docker('exec', 'o1', 'ping', '-c', '1', '-W', '2', '192.168.81.254'), 'a container of a non-internal network reaches its gateway (positive control)');
  const out = await docker('exec', 'i1', 'ping', '-c', '1', '-W', '2', '192.168.81.254');
  assert.notEqual(out.code, 0, 'an internal container reaches no other network');
  ok(await docker('rm', '-f', 'i1'), 'rm i1');
  ok(await docker('network', 'rm', 'inner'), 'rm inner');
});

test('bad options are refused with one clear line, and leave nothing in Tenet or in Docker', async () => {
  const tenetBefore = (await tenetNets()).map((n) => n.name).sort();
  const dockerBefore = (await dockerNets()).sort();
  const bad: [string[], RegExp][] = [
    [['--subnet', '192.168.83.0/24', '-o', 'mtu=100'], /invalid MTU 100.*576 to 9000/],
    [['--subnet', '192.168.83.0/24', '-o', 'mtu=big'], /-o mtu=big is not a whole number/],
    [['--subnet', '192.168.83.0/24', '-o', 'vni=99999999'], /invalid VNI 99999999/],
    [['--subnet', '192.168.83.0/24', '-o', `vni=${VNI}`], new RegExp(`VNI ${VNI} belongs to network opts`)],
    [['--subnet', '192.168.83.0/24', '-o', 'colour=blue'], /unknown option -o colour/],
    [['--subnet', '192.168.81.128/25'], /overlaps network opts/],
    [['--subnet', '127.1.0.0/24'], /loopback/],
    [['--subnet', '192.168.83.0/24', '--gateway', '192.168.83.255'], /192\.168\.83\.255/],
    [['--subnet', '192.168.83.0/24', '--ip-range', '192.168.83.255/32'], /--ip-range 192\.168\.83\.255\/32/],
    [['--subnet', '192.168.83.0/24', '--aux-address', 'x=192.168.83.255'], /192\.168\.83\.255/],
    [['--subnet', '192.168.83.0/24', '-o', 'tenant=nope'], /no tenant nope/],
  ];
  for (const [i, [args, pattern]] of bad.entries()) refused(await docker(...CREATE, ...args, `bad${i}`), pattern, args.join(' '));
  assert.deepEqual((await tenetNets()).map((n) => n.name).sort(), tenetBefore, 'no Tenet network was made');
  assert.deepEqual((await dockerNets()).sort(), dockerBefore, 'no docker network was made');
  ok(await docker(...CREATE, '--subnet', '192.168.83.0/24', '-o', 'com.docker.network.driver.mtu=1450', '-o', `vni=${VNI + 2}`, 'good'), 'the same subnet is free afterwards, and the bridge MTU key works');
  assert.ok(await shown('good'));
  assert.equal((await show('good')).network.mtu, 1450);
});
