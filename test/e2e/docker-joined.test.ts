/**
 * The Docker driver on an agent joined over https (ADR 014 addendum): without the admin's
 * grant for a tenant, `docker network create -d tenet` fails in docker itself (the driver's
 * CreateNetwork, which dockerd calls before it records the network), says which `tenet docker
 * allow` to run, and leaves nothing in Tenet, in dockerd or in the driver's state; with the
 * grant the same create works and containers on the network reach each other.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUSYBOX_IMAGE as IMAGE, TestDockerd } from '../support/dockerd.js';
import { JoinedTenetUp } from '../support/tenet-joined.js';
import { eventually, type Out } from '../support/tenet-up.js';

const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `tenet-dkj-${suffix}-`));
const host = `dkj-${suffix}`;
const dockerd = new TestDockerd({ ownPlugins: true });
const tenet = new JoinedTenetUp(dir, host, `tdj${suffix}-`, dockerd);
const docker = (...a: string[]) => dockerd.cli(...a);
// Our own VNI, so a test running beside this one never shares a VXLAN device's VNI.
const VNI = 300_000 + randomBytes(2).readUInt16BE() * 4 + 1;
const SUBNET = '192.168.83.0/24';

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}

const create = (...opts: string[]) => docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', SUBNET, '-o', `vni=${VNI}`, ...opts);
const dockerNets = async () => ok(await docker('network', 'ls', '--filter', 'driver=tenet', '--format', '{{.Name}}'), 'network ls');
const tenetNets = async () => (JSON.parse(ok(await tenet.tenet('-o', 'json', 'net', 'ls'), 'tenet net ls')) as { name: string }[]).map((n) => n.name);
const driverState = () => JSON.parse(readFileSync(join(dir, 'agent-state', 'docker-driver.json'), 'utf8')) as { pools: unknown[]; bindings: unknown[] };

before(() => tenet.setUp('acme'));
after(() => tenet.tearDown());

test('without the grant docker network create fails in docker and leaves nothing; with it the network works', async () => {
  const refused = await create('-o', 'tenant=acme', 'red');
  assert.notEqual(refused.code, 0, 'docker network create itself fails');
  assert.match(refused.stderr, /Error response from daemon: .*may not create Docker networks in tenant acme.*tenet docker allow \S+ acme/);
  assert.ok(refused.stderr.includes(`tenet docker allow ${host} acme`), refused.stderr);
  const unnamed = await create('red');
  assert.notEqual(unnamed.code, 0, 'no -o tenant= and no grant at all: refused as well');
  assert.match(unnamed.stderr, /granted it none.*tenet docker allow/);
  // Nothing left, even after a sync round (2 s) that would have adopted a half-made network.
  await new Promise((r) => setTimeout(r, 2500));
  assert.doesNotMatch(await dockerNets(), /red/);
  assert.ok(!(await tenetNets()).includes('red'));
  assert.deepEqual(driverState(), { pools: [], bindings: [] }, 'the IPAM pools dockerd released on the rollback are gone');

  // Positive control: the same create once the admin granted the tenant to this host.
  ok(await tenet.tenet('docker', 'allow', host, 'acme'), 'docker allow');
  ok(await create('-o', 'tenant=acme', 'red'), 'network create with the grant');
  assert.ok(await eventually(async () => (await tenetNets()).includes('red')), 'red appears in tenet net ls');
  ok(await docker('run', '-d', '--name', 'c1', '--net=red', IMAGE, 'sleep', '600'), 'run c1');
  ok(await docker('run', '-d', '--name', 'c2', '--net=red', IMAGE, 'sleep', '600'), 'run c2');
  const ip1 = ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "red").IPAddress}}', 'c1'), 'inspect');
  assert.match(ip1, /^192\.168\.83\.\d+$/);
  ok(await docker('exec', 'c2', 'ping', '-c', '2', '-W', '2', ip1), 'c2 pings c1');
});
