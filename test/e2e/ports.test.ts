/**
 * Published ports on the real kernel (ADR 015): a host port of h1 reaches a workload's
 * server (busybox httpd) from h1 itself and from another host (h2), through the host's
 * `ip tenet-nat` DNAT, the tenant's transit pair and the tenant namespace's second DNAT.
 * Unpublished ports, revoked ports and the ports of a removed endpoint do not answer, each
 * checked next to a published one that does.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import { PortPublisher } from '../../src/agent/ports.js';
import { ExecRunner } from '../../src/datapath/runner.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
const servers: ChildProcess[] = [];
let ports: PortPublisher;

/** What GET http://ip:port/ answers from namespace `ns`, or undefined when nothing does. */
async function fetchFrom(ns: string, ip: string, port: number): Promise<string | undefined> {
  // busybox nc as the client: busybox-static's wget crashes on this machine.
  const r = await c.underlay.runner.run(['ip', 'netns', 'exec', ns, 'timeout', '5', 'busybox', 'nc', '-w', '2', ip, String(port)], { input: 'GET / HTTP/1.0\r\n\r\n', allowFail: true });
  const body = r.stdout.split('\r\n\r\n')[1];
  return r.code === 0 && body ? body.trim() : undefined;
}

function serve(workload: string, text: string): void {
  const dir = join(c.dir, workload);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), text);
  servers.push(spawn('ip', ['netns', 'exec', c.underlay.workloadNs(workload), 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' }));
}

describe('published ports (two-step DNAT through a transit pair)', { skip: kernelSkip('published ports', ['ip', 'nft', 'nsenter', 'busybox']) }, () => {
  const h = (name: string) => c.underlay.hosts.get(name)!;
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
    const agent = c.agentObject('h1');
    ports = new PortPublisher(new ExecRunner(), { nsPrefix: agent.opts.nsPrefix, hostNs: h('h1').ns, endpoint: (id) => agent.cache.endpoints.get(id) }, silentLogger);
    ports.start();
  });
  after(async () => {
    ports?.stop();
    for (const s of servers) s.kill();
    await c.destroy();
  });

  it('reaches the server from the host and from another host; unpublished and revoked ports do not', async () => {
    const a = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('wa') });
    const b = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('wb') });
    serve('wa', 'from-a');
    serve('wb', 'from-b');
    await ports.programPorts(a.id, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
    await ports.programPorts(b.id, [{ proto: 'tcp', hostPort: 8081, containerPort: 80 }]);
    const vtep = h('h1').vtep;
    assert.ok(await waitFor(async () => (await fetchFrom(c.underlay.workloadNs('wb'), a.ip, 80)) === 'from-a' || undefined, 5000, 'control: wa serves inside its network'));
    assert.equal(await fetchFrom(h('h1').ns, vtep, 8080), 'from-a', 'from h1 itself');
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8080), 'from-a', 'from h2');
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8081), 'from-b', 'the second endpoint from h2');
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8082), undefined, 'a port nobody published');
    await assert.rejects(ports.programPorts(b.id, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]), /HOST_PORT_IN_USE|published by/);

    await ports.revokePorts(a.id);
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8080), undefined, 'revoked');
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8081), 'from-b', 'control: the other one still answers');

    await c.agent('h1').remove(b.id);
    await ports.prune();
    assert.equal(await fetchFrom(h('h2').ns, vtep, 8081), undefined, 'its endpoint removed');
    assert.deepEqual(ports.published(b.id), []);
    const links = await c.underlay.runner.run(['ip', '-n', h('h1').ns, '-o', 'link', 'show']);
    assert.doesNotMatch(links.stdout, /tpx[0-9a-f]{8}/, 'no transit pair is left once nothing is published');
  });
});
