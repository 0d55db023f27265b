/**
 * Docker's `-p` on a real dockerd (ADR 016): dockerd runs in lab host h1's namespace (its own,
 * harness.md B), with the tenet driver served by h1's in-process agent, so the handoff veths
 * land where dockerd looks and the published ports are h1's. `docker run -p 8080:80` reaches
 * the container's httpd from h1 and from h2 on h1's address; it is gone after `docker stop` or
 * `docker rm -f` (each checked next to a port that still answers); a second container asking
 * for the same host port, and a random host port (`-p 80`), get Docker's error.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/base/logger.js';
import { attach, attachExisting, detach, remove } from '../../src/agent/attach.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import type { PublishedPort } from '../../src/model/types.js';
import { InProcessCluster } from '../support/cluster.js';
import { startDockerDriver } from '../../src/docker/driver.js';
import { BUSYBOX_IMAGE as IMAGE, ensureDockerInstalled, TestDockerd } from '../support/dockerd.js';
import type { Out } from '../support/tenet-up.js';
import { fetchFrom as probe, untilServed } from '../support/http-probe.js';

const c = new InProcessCluster();
const dir = mkdtempSync(join(tmpdir(), `tenet-dkp-${randomBytes(3).toString('hex')}-`));
let dockerd: TestDockerd | undefined;
let driver: { close(): Promise<void> } | undefined;
const docker = (...a: string[]): Promise<Out> => dockerd!.cli(...a);

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}



/** A busybox httpd answering `text`, published as `publish`. */
const web = (name: string, publish: string, text: string) =>
  docker('run', '-d', '--name', name, '--net=red', '-p', publish, IMAGE, 'sh', '-c', `mkdir -p /w && echo ${text} > /w/index.html && exec httpd -f -p 80 -h /w`);

describe('docker run -p through ProgramExternalConnectivity', { skip: kernelSkip('docker ports', ['ip', 'nft', 'nsenter', 'busybox', 'unshare']) }, () => {
  const h = (name: string) => c.underlay.hosts.get(name)!;
  before(async () => {
    await ensureDockerInstalled();
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('admin');
    dockerd = new TestDockerd({ ownPlugins: true, netns: h('h1').ns });
    await dockerd.start();
    await dockerd.importBusybox();
    const agent = c.agentObject('h1');
    const local = {
      create: (req: Parameters<typeof attach>[1]) => attach(agent, req, silentLogger),
      attachHandoff: (id: string, ifname: string) => attachExisting(agent, id, { handoff: true, ifname }, silentLogger),
      detach: (id: string) => detach(agent, id, silentLogger),
      remove: (id: string) => remove(agent, id, silentLogger),
      publishPorts: (id: string, ports: PublishedPort[]) => agent.publishPorts(id, ports),
    };
    const opts = { pluginSocket: join(dockerd.pluginDir, 'tenet.sock'), dockerSocket: dockerd.socket, stateDir: dir, defaultTenant: 'admin', syncMs: 500 };
    driver = await startDockerDriver(opts, { controller: agent.opts.controller, agent: local }, silentLogger);
  });
  after(async () => {
    await dockerd?.stop().catch(() => undefined);
    await driver?.close();
    await c.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes -p 8080:80 on h1 for h1 and h2, refuses a taken or random host port, and unpublishes on stop and rm -f, publishes again on start', async () => {
    ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.81.0/24', '-o', 'tenant=admin', 'red'), 'network create');
    ok(await web('web', '8080:80', 'from-web'), 'run web -p 8080:80');
    ok(await web('web2', '8081:80', 'from-web2'), 'run web2 -p 8081:80');
    const vtep = h('h1').vtep;
    const [h1, h2] = [h('h1').ns, h('h2').ns];
    await until(h2, vtep, 8080, 'from-web', 'from h2');
    await until(h1, vtep, 8080, 'from-web', 'from h1 itself');
    await until(h2, vtep, 8081, 'from-web2', 'the second container from h2');
    const eps = await c.controller.listEndpoints({ tenant: 'admin', network: 'red' });
    assert.ok(eps.some((e) => JSON.stringify(e.ports) === JSON.stringify([{ hostPort: 8080, port: 80, proto: 'tcp' }])), 'the endpoint carries the port');

    const taken = await web('web3', '8080:80', 'from-web3');
    assert.notEqual(taken.code, 0, 'a second container on host port 8080 is refused');
    assert.match(taken.stderr, /host port 8080\/tcp of host h1 is published by endpoint/);
    const random = await web('web4', '80', 'from-web4');
    assert.notEqual(random.code, 0, 'a random host port is refused');
    assert.match(random.stderr, /random host port.*-p HOSTPORT:80/);
    assert.equal(await fetchFrom(h2, vtep, 8080), 'from-web', 'control: the refusals left web published');

    ok(await docker('stop', '-t', '1', 'web'), 'stop web');
    await until(h2, vtep, 8080, undefined, 'gone after docker stop');
    assert.equal(await fetchFrom(h2, vtep, 8081), 'from-web2', 'control: web2 still answers');
    ok(await docker('start', 'web'), 'start web again');
    await until(h2, vtep, 8080, 'from-web', 'published again when it starts');
    ok(await docker('rm', '-f', 'web2'), 'rm -f web2');
    await until(h2, vtep, 8081, undefined, 'gone after docker rm -f');
    assert.equal(await fetchFrom(h2, vtep, 8080), 'from-web', 'control: web still answers');
  });
});

const fetchFrom = (ns: string, ip: string, port: number) => probe(c.underlay.runner, ns, ip, port);
const until = (ns: string, ip: string, port: number, want: string | undefined, what: string) => untilServed(c.underlay.runner, ns, ip, port, want, what);
