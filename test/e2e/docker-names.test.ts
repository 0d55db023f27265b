/**
 * Issue 8's gaps on a real dockerd and a real `tenet up --docker`: a container started with
 * `--net=<tenet network>` gives its name to its endpoint (listings and DNS), although
 * libnetwork never passes it to the driver (the event monitor names it); and the driver
 * works on after its state file is lost (self-describing IPAM pool ids, ADR 014 addendum).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUSYBOX_IMAGE as IMAGE, TestDockerd } from '../support/dockerd.js';
import { eventually, TenetUp, type Out } from '../support/tenet-up.js';

const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `tenet-dkn-${suffix}-`));
const dockerd = new TestDockerd({ ownPlugins: true });
const tenet = new TenetUp(dir, `dkn-${suffix}`, `tdn${suffix}-`, dockerd);
const docker = (...a: string[]) => dockerd.cli(...a);
const VNI = 400_000 + randomBytes(2).readUInt16BE() * 4;

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}

interface Ep { id: string; name?: string; ip: string }
const endpoints = async () => JSON.parse(ok(await tenet.tenet('-o', 'json', 'ep', 'ls', '--tenant', 'admin', '--net', 'red'), 'ep ls')) as Ep[];
const ipOf = async (c: string) => ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.red.IPAddress}}', c), 'inspect');
const addresses = async () => ok(await tenet.tenet('ip', 'ls', '--tenant', 'admin', '--net', 'red'), 'ip ls');

before(async () => {
  await tenet.setUp('admin');
  ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.88.0/24', '-o', 'tenant=admin', '-o', `vni=${VNI}`, 'red'), 'network create');
});
after(() => tenet.tearDown());

test('docker run --name web --net=red: tenet ep ls shows web, and DNS resolves it from another container', async () => {
  ok(await docker('run', '-d', '--name', 'web', '--net=red', IMAGE, 'sleep', '600'), 'run web');
  ok(await docker('run', '-d', '--name', 'client', '--net=red', IMAGE, 'sleep', '600'), 'run client');
  const ip = await ipOf('web');
  const named = await eventually(async () => (await endpoints()).find((e) => e.name === 'web'));
  assert.equal(named?.ip, ip, 'the endpoint holding web\'s address is named web');
  assert.ok(await eventually(async () => (await endpoints()).some((e) => e.name === 'client')), 'client named too');
  // DNS at the Tenet gateway: web resolves to its address; a name nobody has does not (control).
  const answer = await eventually(async () => {
    const r = await docker('exec', 'client', 'nslookup', 'web', '192.168.88.1');
    return r.code === 0 && r.stdout.includes(ip) ? r.stdout : '';
  }, 40);
  assert.match(answer, new RegExp(ip.replace(/\./g, '\\.')));
  assert.notEqual((await docker('exec', 'client', 'nslookup', 'nobody-here', '192.168.88.1')).code, 0, 'an unknown name does not resolve');
  // docker rename: the endpoint follows.
  ok(await docker('rename', 'web', 'web2'), 'rename');
  assert.ok(await eventually(async () => (await endpoints()).some((e) => e.name === 'web2' && e.ip === ip)), 'renamed endpoint');
});

test('the driver state file lost and the agent restarted: docker run --net=red and docker rm -f still work and release the address', async () => {
  const state = join(dir, 'agent-state', 'docker-driver.json');
  assert.ok(existsSync(state), 'the driver keeps its state file');
  await tenet.stop();
  rmSync(state);
  await tenet.start();
  // The pool id dockerd holds for red is all the driver needs (it names tenant, network and subnet).
  ok(await docker('run', '-d', '--name', 'after', '--net=red', IMAGE, 'sleep', '600'), 'run after the loss');
  const ip = await ipOf('after');
  assert.match(ip, /^192\.168\.88\.\d+$/);
  assert.match(await addresses(), new RegExp(`${ip.replace(/\./g, '\\.')}\\s`), 'the address is held in Tenet');
  ok(await docker('exec', 'after', 'ping', '-c', '1', '-W', '2', await ipOf('client')), 'traffic on red after the loss');
  ok(await docker('rm', '-f', 'after'), 'rm -f');
  assert.ok(await eventually(async () => !(await addresses()).includes(`${ip} `) && !(await endpoints()).some((e) => e.ip === ip)), 'address and endpoint released');
  // A container made before the loss is removed cleanly too (its pool id predates the restart).
  const clientIp = await ipOf('client');
  ok(await docker('rm', '-f', 'client'), 'rm -f client');
  assert.ok(await eventually(async () => !(await endpoints()).some((e) => e.ip === clientIp)), 'client released');
});
