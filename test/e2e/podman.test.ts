/**
 * A real podman 4.3 (CNI backend, runc) on a Tenet network (issue 9). podman runs in lab host
 * h1's namespace with a private configuration (test/support/podman.ts) whose CNI dirs hold what
 * `tenet cni install` wrote; the plugin reaches h1's agent on its CNI socket. Checked: the
 * container gets a Tenet address and gives it back; it pings a lab container on h2 while a
 * container of another tenant stays unreachable; `-p` publishes a host port of h1 that reaches
 * the container's httpd from h1 and from h2, until the container goes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/base/logger.js';
import { buildCniApp } from '../../src/agent/cni-server.js';
import { buildProgram, runCli } from '../../src/cli/program.js';
import { addCniCommands } from '../../src/cmd/cni.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';
import { ensurePodman, PODMAN_IMAGE, PrivatePodman } from '../support/podman.js';
import { fetchFrom as probe, untilServed } from '../support/http-probe.js';

const c = new InProcessCluster();
let cniApp: FastifyInstance | undefined;
let podman: PrivatePodman | undefined;
const SUBNET = /inet (10\.78\.0\.\d+)\/24/;

const cniEndpoints = async () => (await c.agent('h1').listEndpoints()).filter((e) => e.labels['tenet.cni.container']);



describe('podman 4.3 on a Tenet network through the tenet CNI plugin', { skip: kernelSkip('podman with the tenet CNI plugin', ['ip', 'nsenter', 'ping', 'curl', 'busybox']) }, () => {
  const ns = (h: string) => c.underlay.hosts.get(h)!.ns;
  before(async () => {
    await ensurePodman();
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('admin').catch(() => undefined);
    await c.controller.createNetwork('admin', { name: 'red', subnet: '10.78.0.0/24' });
    await c.controller.createTenant('other');
    await c.controller.createNetwork('other', { name: 'blue', subnet: '10.79.0.0/24' });
    const socket = join(c.dir, 'cni.sock');
    cniApp = buildCniApp(c.agentObject('h1'), c.underlay.runner, silentLogger);
    await cniApp.listen({ path: socket });
    const [binDir, confDir] = [join(c.dir, 'cni-bin'), join(c.dir, 'net.d')];
    let out = '';
    const program = buildProgram({ out: (t) => (out += t), err: (t) => (out += t) });
    addCniCommands(program); // as src/cmd/tenet.ts does: `tenet cni` is a command of the executable
    const code = await runCli(['--api', `unix:${c.controllerSocket}`, 'cni', 'install', '--bin-dir', binDir, '--conf-dir', confDir, '--socket', socket, '--tenant', 'admin'], program);
    assert.equal(code, 0, out);
    podman = new PrivatePodman({ netns: ns('h1'), binDir, confDir });
    await podman.importBusybox();
  });
  after(async () => {
    await podman?.destroy();
    await cniApp?.close();
    await c.destroy();
  });

  it('podman sees the CNI backend and the Tenet network', async () => {
    assert.equal(await podman!.podman('info', '--format', '{{.Host.NetworkBackend}}'), 'cni');
    assert.match(await podman!.podman('network', 'ls', '--format', '{{.Name}} {{.Driver}}'), /^red tenet$/m);
  });

  it('podman run --rm --network red: an address from Tenet, given back when the container goes', async () => {
    const out = await podman!.podman('run', '--rm', '--network', 'red', PODMAN_IMAGE, 'ip', 'addr', 'show', 'eth0');
    assert.match(out, SUBNET, out);
    assert.deepEqual(await cniEndpoints(), [], 'DEL removed the endpoint');
  });

  it('reaches a lab container on h2; another tenant\'s container stays unreachable', async () => {
    const red = await c.agent('h2').attach({ tenant: 'admin', network: 'red', netns: await c.underlay.workload('red2') });
    const blue = await c.agent('h2').attach({ tenant: 'other', network: 'blue', netns: await c.underlay.workload('blue2') });
    assert.ok(await c.underlay.ping('blue2', blue.ip), 'blue answers its own pings (so silence below means isolation)');
    // One container, both probes: the control and the blocked ping leave the same namespace.
    const script = `ping -c 3 -W 2 ${red.ip} >/dev/null && echo RED-OK; ping -c 2 -W 1 ${blue.ip} >/dev/null && echo BLUE-LEAK; true`;
    const out = await podman!.podman('run', '--rm', '--network', 'red', PODMAN_IMAGE, 'sh', '-c', script);
    assert.match(out, /RED-OK/, `the podman container on h1 pings the lab container on h2 (positive control): ${out}`);
    assert.doesNotMatch(out, /BLUE-LEAK/, 'another tenant\'s address is unreachable');
  });

  it('-p publishes a host port of h1 that reaches the container from h1 and h2, until it goes', async () => {
    const vtep = c.underlay.hosts.get('h1')!.vtep;
    const web = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;
    await podman!.podman('run', '-d', '--name', 'web1', '--network', 'red', '-p', '18181:80', PODMAN_IMAGE, 'sh', '-c', web('from-web1'));
    await podman!.podman('run', '-d', '--name', 'web2', '--network', 'red', '-p', '18182:80', PODMAN_IMAGE, 'sh', '-c', web('from-web2'));
    await until(ns('h2'), vtep, 18181, 'from-web1', 'h1:18181 from h2');
    await until(ns('h1'), vtep, 18181, 'from-web1', 'h1:18181 from h1 itself');
    await until(ns('h2'), vtep, 18182, 'from-web2', 'h1:18182 from h2');
    const published = (await cniEndpoints()).flatMap((e) => (e.ports ?? []).map((p) => `${p.hostPort}:${p.port}/${p.proto}`)).sort();
    assert.deepEqual(published, ['18181:80/tcp', '18182:80/tcp'], 'the endpoints carry the mappings');
    await podman!.podman('rm', '-f', '-t', '0', 'web1');
    await until(ns('h2'), vtep, 18181, undefined, 'h1:18181 after the container went');
    assert.equal(await fetchFrom(ns('h2'), vtep, 18182), 'from-web2', 'control: the other container keeps its port');
    await podman!.podman('rm', '-f', '-t', '0', 'web2');
    assert.deepEqual(await cniEndpoints(), [], 'no endpoint left behind');
  });
});

const fetchFrom = (ns: string, ip: string, port: number) => probe(c.underlay.runner, ns, ip, port);
const until = (ns: string, ip: string, port: number, want: string | undefined, what: string) => untilServed(c.underlay.runner, ns, ip, port, want, what);
