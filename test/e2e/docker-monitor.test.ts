/**
 * Issue 8 on a real dockerd (the test's own: test/support/dockerd.ts): the event monitor
 * attaches `--net=none` containers that carry TENET_* env or tenet.* labels, and removes
 * their endpoints (releasing the addresses) on `docker rm -f` and on kill -9 of the
 * container's process; it catches up after its own downtime; `tenet attach`/`tenet detach`
 * by container name go through the agent's API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import { monitorTarget } from '../../src/agent/docker.js';
import { DockerMonitor } from '../../src/docker/monitor.js';
import { CONTAINER_LABEL, shortId } from '../../src/docker/markers.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import type { Endpoint } from '../../src/model/types.js';
import { InProcessCluster } from '../support/cluster.js';
import { BUSYBOX_IMAGE, TestDockerd } from '../support/dockerd.js';

const c = new InProcessCluster();
const d = new TestDockerd();
let monitor: DockerMonitor | undefined;
const WAIT_MS = 10_000;

const startMonitor = () => {
  monitor = new DockerMonitor(d.engine, monitorTarget(c.agentObject('h1'), silentLogger), silentLogger);
  monitor.start();
  return monitor;
};

/** The endpoints made for a container, as the controller sees them. */
async function endpointsOf(container: string): Promise<Endpoint[]> {
  const id = shortId((await d.engine.inspect(container)).Id);
  return (await c.controller.listEndpoints({ tenant: 'admin' })).filter((e) => e.labels[CONTAINER_LABEL] === id);
}

const upEndpoint = (container: string) =>
  waitFor(async () => (await endpointsOf(container)).find((e) => e.status === 'up'), WAIT_MS, `${container}'s endpoint to be up`, 50);

const ping = (from: string, ip: string) => d.docker('exec', from, 'ping', '-c', '1', '-W', '2', ip).then(() => true, () => false);

async function gone(id: string, ip: string): Promise<void> {
  await waitFor(async () => ((await c.controller.listEndpoints({ tenant: 'admin' })).some((e) => e.id === id) ? undefined : true), WAIT_MS, `endpoint ${id} to be removed`, 50);
  const reservations = await c.controller.listAddresses('admin', 'red');
  assert.ok(!reservations.some((r) => r.ip === ip), `${ip} is released`);
}

const run = (name: string, ...args: string[]) => d.docker('run', '-d', '--name', name, '--net=none', ...args, BUSYBOX_IMAGE, 'sleep', '3600');

describe('the Docker event monitor on a real dockerd', { skip: kernelSkip('docker monitor', ['dockerd', 'docker', 'ip', 'nft', 'nsenter']) }, () => {
  before(async () => {
    await d.start();
    await d.importBusybox();
    await c.start(['h1']);
    await c.stopAgent('h1');
    await c.startAgent('h1', undefined, d.engine);
    await c.controller.createTenant('admin');
    await c.controller.createNetwork('admin', { name: 'red', subnet: '192.168.77.0/24' });
    await c.controller.createNetwork('admin', { name: 'green', subnet: '192.168.78.0/24' });
    startMonitor();
  });
  after(async () => {
    await monitor?.stop();
    await d.stop();
    await c.destroy();
  });

  it('attaches env- and label-marked containers (named after them); they ping each other', async () => {
    await run('env1', '-e', 'TENET_TENANT=admin', '-e', 'TENET_NETWORK=red');
    await run('lab1', '--label', 'tenet.tenant=admin', '--label', 'tenet.network=red', '--label', 'tenet.ip=192.168.77.50');
    const a = await upEndpoint('env1');
    const b = await upEndpoint('lab1');
    assert.equal(a.name, 'env1');
    assert.equal(b.ip, '192.168.77.50');
    assert.match(await d.docker('exec', 'env1', 'ip', 'addr', 'show', 'eth0'), new RegExp(`inet ${a.ip.replace(/\./g, '\\.')}/24`));
    assert.ok(await waitFor(async () => (await ping('env1', b.ip)) || undefined, WAIT_MS, 'env1 -> lab1'));
    assert.ok(await ping('lab1', a.ip), 'lab1 -> env1');
  });

  it('a container without markers is left alone (next to a marked one that is attached)', async () => {
    await run('plain1');
    await run('marked2', '-e', 'TENET_TENANT=admin', '-e', 'TENET_NETWORK=red');
    await upEndpoint('marked2');
    assert.deepEqual(await endpointsOf('plain1'), []);
  });

  it('docker rm -f and kill -9 of the container process remove the endpoint and release the address', async () => {
    const a = await upEndpoint('env1');
    await d.docker('rm', '-f', 'env1');
    await gone(a.id, a.ip);
    const b = await upEndpoint('lab1');
    process.kill(await d.pid('lab1'), 'SIGKILL');
    await gone(b.id, b.ip);
    assert.ok((await upEndpoint('marked2')).status === 'up', 'control: the other container keeps its endpoint');
  });

  it('catches up after its own downtime: attaches what started, removes what died', async () => {
    const before = await upEndpoint('marked2');
    await monitor!.stop();
    await run('late1', '-e', 'TENET_TENANT=admin', '-e', 'TENET_NETWORK=red');
    await d.docker('rm', '-f', 'marked2');
    assert.deepEqual(await endpointsOf('late1'), [], 'nothing attaches it while the monitor is down');
    const m = startMonitor();
    await waitFor(() => (m.catchUps >= 1 ? true : undefined), WAIT_MS, 'the catch-up');
    await upEndpoint('late1');
    await gone(before.id, before.ip);
    // A second restart attaches nothing twice (the key is the container's id).
    await m.stop();
    const m2 = startMonitor();
    await waitFor(() => (m2.catchUps >= 1 ? true : undefined), WAIT_MS, 'the second catch-up');
    assert.equal((await endpointsOf('late1')).length, 1);
  });

  it('tenet attach/detach by container name through the agent; a stopped or unknown container is refused', async () => {
    const agent = c.agent('h1');
    const ep = await agent.attachContainer({ container: 'plain1', tenant: 'admin', network: 'green', ifname: 'eth1' });
    assert.equal(ep.name, 'plain1');
    assert.equal((await agent.attachContainer({ container: 'plain1', tenant: 'admin', network: 'green', ifname: 'eth1' })).id, ep.id, 'a repeat is the same endpoint');
    assert.match(await d.docker('exec', 'plain1', 'ip', 'addr', 'show', 'eth1'), new RegExp(`inet ${ep.ip.replace(/\./g, '\\.')}/24`));
    await assert.rejects(agent.attachContainer({ container: 'nosuch', tenant: 'admin', network: 'green' }), /CONTAINER_NOT_FOUND|no container/);
    await d.docker('create', '--name', 'stopped1', '--net=none', BUSYBOX_IMAGE, 'true');
    await assert.rejects(agent.attachContainer({ container: 'stopped1', tenant: 'admin', network: 'green' }), /not running/);
    const { removed } = await agent.detachContainer({ container: 'plain1', network: 'green' });
    assert.deepEqual(removed, [ep.id]);
    await gone(ep.id, ep.ip).catch(() => undefined); // green's reservations are checked below
    assert.ok(!(await c.controller.listAddresses('admin', 'green')).some((r) => r.ip === ep.ip));
    assert.doesNotMatch(await d.docker('exec', 'plain1', 'ip', 'link'), /eth1/);
  });
});
