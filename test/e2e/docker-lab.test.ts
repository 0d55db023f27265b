/**
 * Issue 8's multi-host Docker lab, as a user drives it: `tenet lab up --hosts 2 --docker`
 * gives each lab host its own real dockerd (in the host's network namespace, finding only
 * that host's agent's plugin), and `tenet lab docker hN -- …` is the docker CLI against it.
 * Networks made on either daemon or with `tenet net create` appear everywhere, containers
 * on two hosts reach each other over the overlay (another tenant's do not), Contiv's
 * `--net=NAME/TENANT` works, removal on one side removes on both, and `lab down` leaves no
 * dockerd, mount or namespace behind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { scanProcesses } from '../../src/lab/dockerd.js';
import type { Network } from '../../src/model/types.js';
import { TenetEnv } from '../support/procs.js';

const t = new TenetEnv();
const labDir = join(t.env.TENET_RUN_DIR!, 'lab');
const SYNC_MS = 20_000;

/** `tenet lab docker HOST -- ARGS`, which must succeed: its stdout, trimmed. */
async function docker(host: string, ...args: string[]): Promise<string> {
  const r = await t.tenet('lab', 'docker', host, '--', ...args);
  if (r.code !== 0) throw new Error(`tenet lab docker ${host} -- ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

const dockerNets = async (host: string) => (await docker(host, 'network', 'ls', '--filter', 'driver=tenet', '--format', '{{.Name}}')).split('\n').filter(Boolean).sort();
const tenetNets = async () => (await t.json<Network[]>('net', 'ls')).map((n) => `${n.name}/${n.tenant}`).sort();
const ipOf = (host: string, c: string) => docker(host, 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c);
const hostOf: Record<string, string> = {};
const ping = async (from: string, ip: string) => (await t.tenet('lab', 'docker', hostOf[from]!, '--', 'exec', from, 'ping', '-c', '1', '-W', '2', ip)).code === 0;

/** Waits until `host`'s dockerd lists exactly-or-more the tenet networks `names` (or none of `absent`). */
function seen(host: string, names: string[], absent: string[] = []): Promise<true> {
  return waitFor(async () => {
    const nets = await dockerNets(host);
    return names.every((n) => nets.includes(n)) && absent.every((n) => !nets.includes(n)) ? true : undefined;
  }, SYNC_MS, `${host}'s dockerd to show [${names}] and not [${absent}]`, 250);
}

async function run(host: string, name: string, net: string, ...extra: string[]): Promise<string> {
  hostOf[name] = host;
  await docker(host, 'run', '-d', '--name', name, `--net=${net}`, ...extra, 'busybox', 'sleep', '1d');
  return ipOf(host, name);
}

describe('a two-host lab where each host runs its own dockerd', { skip: kernelSkip('docker lab', ['dockerd', 'docker', 'unshare', 'nsenter', 'ip', 'nft', 'ping', 'busybox']), timeout: 900_000 }, () => {
  before(async () => {
    await t.startController();
    await t.okAll([['tenant', 'create', 'admin'], ['tenant', 'create', 'blue']]);
    const up = await t.ok('lab', 'up', '--hosts', '2', '--docker');
    assert.match(up, /DOCKER/);
  });
  after(() => t.destroy());

  it('each lab host has its own dockerd with the busybox image, shown by tenet lab ls', async () => {
    const ls = await t.json<{ hosts: { name: string; dockerSocket?: string }[]; processes: { name: string; alive: boolean }[] }>('lab', 'ls');
    const sockets = ls.hosts.map((h) => h.dockerSocket);
    assert.equal(new Set(sockets).size, 2, JSON.stringify(ls.hosts));
    assert.ok(ls.processes.filter((p) => p.name.startsWith('dockerd')).length === 2 && ls.processes.every((p) => p.alive), JSON.stringify(ls.processes));
    for (const h of ['h1', 'h2']) assert.match(await docker(h, 'images', '--format', '{{.Repository}}:{{.Tag}}'), /busybox:latest/);
    const refused = await t.tenet('lab', 'docker', 'h9', '--', 'ps');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no host h9/);
  });

  it('a network made with docker network create on h1 appears in tenet net ls and on h2 (as NAME/TENANT)', async () => {
    await docker('h1', 'network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.10.0/24', '-o', 'tenant=admin', 'red');
    await waitFor(async () => ((await tenetNets()).includes('red/admin') ? true : undefined), SYNC_MS, 'red in tenet net ls', 250);
    await seen('h2', ['red/admin']);
    assert.deepEqual(await dockerNets('h1'), ['red']); // its own name where it was made
  });

  it('a network made with tenet net create appears on both daemons', async () => {
    await t.ok('net', 'create', 'green', '--tenant', 'admin', '--subnet', '192.168.20.0/24');
    await Promise.all([seen('h1', ['green/admin']), seen('h2', ['green/admin'])]);
  });

  it('containers on h1 and h2 ping each other over the overlay (h2 uses Contiv\'s --net=NAME/TENANT); another tenant\'s do not reach them', async () => {
    const ip1 = await run('h1', 'c1', 'red');
    const ip2 = await run('h2', 'c2', 'red/admin');
    assert.match(ip1, /^192\.168\.10\.\d+$/);
    assert.match(ip2, /^192\.168\.10\.\d+$/);
    const eps = await t.json<{ host: string; ip: string; status: string }[]>('ep', 'ls', '--tenant', 'admin');
    assert.deepEqual(eps.filter((e) => [ip1, ip2].includes(e.ip)).map((e) => `${e.host} ${e.ip} ${e.status}`).sort(), [`h1 ${ip1} up`, `h2 ${ip2} up`].sort());
    assert.ok(await waitFor(async () => (await ping('c2', ip1)) || undefined, SYNC_MS, 'c2 -> c1 across hosts', 250));
    assert.ok(await ping('c1', ip2), 'c1 -> c2 across hosts');
    // Tenant blue has a network of the same name and subnet: blue's containers work among
    // themselves (their own control) and never reach admin's c1.
    await t.ok('net', 'create', 'red', '--tenant', 'blue', '--subnet', '192.168.10.0/24');
    await Promise.all([seen('h1', ['red/blue']), seen('h2', ['red/blue'])]);
    const b1 = await run('h1', 'b1', 'red/blue', '--ip', '192.168.10.50');
    await run('h2', 'b2', 'red/blue', '--ip', '192.168.10.51');
    assert.ok(await waitFor(async () => (await ping('b2', b1)) || undefined, SYNC_MS, 'b2 -> b1 (blue across hosts)', 250));
    await assertIsolated(ping, 'blue b2 -> admin c1', { from: 'b2', to: ip1, control: { from: 'c2' } });
  });

  it('a network made on h2 is seen on h1; removing it on one side removes it on both', async () => {
    await docker('h2', 'network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.30.0/24', '-o', 'tenant=admin', 'pink');
    await seen('h1', ['pink/admin']);
    assert.ok((await tenetNets()).includes('pink/admin'));
    await docker('h1', 'network', 'rm', 'pink/admin');
    await Promise.all([seen('h1', [], ['pink/admin']), seen('h2', [], ['pink'])]);
    assert.ok(!(await tenetNets()).includes('pink/admin'), 'pink gone from Tenet');
    await t.ok('net', 'rm', 'green', '--tenant', 'admin');
    await Promise.all([seen('h1', ['red'], ['green/admin']), seen('h2', ['red/admin'], ['green/admin'])]);
  });

  it('lab down leaves no dockerd, containerd, mount or namespace behind', async () => {
    const down = await t.ok('lab', 'down');
    assert.match(down, /2 dockerd/);
    assert.deepEqual(scanProcesses((cmd) => cmd.includes(labDir)), []);
    assert.deepEqual(readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(labDir)), []);
    const ns = (await t.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`${t.prefix}-`));
    assert.deepEqual(ns, []);
    assert.deepEqual((await t.json<unknown[]>('ep', 'ls')).length, 0, 'the containers\' endpoints were released');
  });
});
