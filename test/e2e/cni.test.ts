/**
 * The CNI plugin as a runtime runs it: the executable `tenet cni install` writes, started
 * with the CNI environment and a config on stdin, against a real agent and controller on the
 * kernel (issue 9). For each of 0.4.0, 1.0.0 and 1.1.0: ADD, CHECK, DEL twice, the reference
 * `tuning` plugin chained after tenet (0.4.0 and 1.0.0: plugins 1.1.1 stop at 1.0.0), STATUS
 * and GC (1.1.0); CHECK catching each mismatch; VERSION and a down agent without the agent;
 * runtimeConfig.portMappings: the host port of h1 reaches the container's server from h1 and
 * from h2, hostIP honoured, a taken host port refused, and gone after DEL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/base/logger.js';
import { buildCniApp } from '../../src/agent/cni-server.js';
import { installCni } from '../../src/cni/install.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { assertBlocked } from '../../src/datapath/testing/reach.js';
import { InProcessCluster } from '../support/cluster.js';
import { fetchFrom as probe, untilServed } from '../support/http-probe.js';

const TUNING = '/usr/lib/cni/tuning';
const c = new InProcessCluster();
let cniApp: FastifyInstance;
let plugin = '';
let socket = '';
const servers: ChildProcess[] = [];

interface Run {
  code: number;
  out: string;
  json: Record<string, unknown> | undefined;
}

function exec(bin: string, env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TENET_CNI_SOCKET: socket, CNI_PATH: '/usr/lib/cni', ...env } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = out.trim() ? (JSON.parse(out) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, out, json });
    });
    p.stdin.end(stdin);
  });
}

const conf = (version: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: version, name: 'red', type: 'tenet', tenant: 'admin', network: 'red', ...extra });
const cniEnv = (command: string, id: string, netns: string, extra: Record<string, string> = {}) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1', ...extra });
const tenet = (command: string, id: string, netns: string, version: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  exec(plugin, cniEnv(command, id, netns, env), conf(version, extra));

describe('the tenet CNI plugin, invoked as a runtime does', { skip: kernelSkip('the CNI plugin on the kernel') }, () => {
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('admin').catch(() => undefined);
    await c.controller.createNetwork('admin', { name: 'red', subnet: '10.77.0.0/24' });
    socket = join(c.dir, 'cni.sock');
    cniApp = buildCniApp(c.agentObject('h1'), c.underlay.runner, silentLogger);
    await cniApp.listen({ path: socket });
    const [bin] = installCni({ binDir: join(c.dir, 'bin'), confDir: join(c.dir, 'net.d'), socket, networks: [{ tenant: 'admin', name: 'red' }] }).files;
    plugin = bin!;
  });
  after(async () => {
    for (const s of servers) s.kill();
    await cniApp?.close();
    await c.destroy();
  });

  it('installs the executable and the conflist', () => {
    assert.ok(existsSync(plugin));
    assert.ok(existsSync(join(c.dir, 'net.d', '40-tenet-red.conflist')));
  });

  it('VERSION answers without the agent; a down agent is a CNI error, not silence', async () => {
    const v = await exec(plugin, { CNI_COMMAND: 'VERSION', TENET_CNI_SOCKET: '/nonexistent.sock' }, '{"cniVersion":"0.4.0"}');
    assert.equal(v.code, 0);
    assert.deepEqual(v.json, { cniVersion: '0.4.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    const down = await exec(plugin, { ...cniEnv('ADD', 'x1', '/run/netns/none'), TENET_CNI_SOCKET: '/nonexistent.sock' }, conf('1.0.0'));
    assert.notEqual(down.code, 0);
    assert.equal(down.json?.code, 11, down.out);
  });

  for (const version of ['0.4.0', '1.0.0', '1.1.0']) {
    it(`${version}: ADD, CHECK, chained tuning, DEL twice`, async () => {
      const tag = version.replace(/\./g, '');
      const netns = await c.underlay.workload(`v${tag}`);
      const peerNs = await c.underlay.workload(`p${tag}`);
      const add = await tenet('ADD', `ctr${tag}`, netns, version, {}, { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAME=pod${tag};FOO=1` });
      assert.equal(add.code, 0, add.out);
      const result = add.json as { cniVersion: string; interfaces: { name: string; mac: string; sandbox: string }[]; ips: { address: string; interface: number; gateway: string; version?: string }[] };
      assert.equal(result.cniVersion, version);
      assert.equal(result.interfaces[0]!.sandbox, netns);
      assert.match(result.interfaces[0]!.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.equal(result.ips[0]!.interface, 0);
      assert.equal(result.ips[0]!.gateway, '10.77.0.1');
      assert.equal(result.ips[0]!.version, version === '0.4.0' ? '4' : undefined);
      const peer = await tenet('ADD', `peer${tag}`, peerNs, version);
      assert.equal(peer.code, 0, peer.out);
      const peerIp = (peer.json as typeof result).ips[0]!.address.split('/')[0]!;
      // A third container, the source of the positive control after the DEL below.
      assert.equal((await tenet('ADD', `ctl${tag}`, await c.underlay.workload(`q${tag}`), version)).code, 0);
      assert.ok(await c.underlay.ping(`v${tag}`, peerIp), 'the CNI container reaches another on its network');

      const check = await tenet('CHECK', `ctr${tag}`, netns, version, { prevResult: result });
      assert.equal(check.code, 0, check.out);
      if (version !== '1.1.0') {
        const tuning = await exec(TUNING, cniEnv('ADD', `ctr${tag}`, netns), JSON.stringify({ cniVersion: version, name: 'red', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' }, prevResult: result }));
        assert.equal(tuning.code, 0, `tuning refused tenet's prevResult: ${tuning.out}`);
        assert.deepEqual((tuning.json as typeof result).ips, result.ips, 'tuning passes the result through');
      }
      for (let i = 0; i < 2; i++) {
        const del = await tenet('DEL', `ctr${tag}`, netns, version, { prevResult: result });
        assert.equal(del.code, 0, `DEL #${i + 1}: ${del.out}`);
        assert.equal(del.out, '');
      }
      await assertBlocked('after DEL the address answers no more', {
        blocked: () => c.underlay.ping(`p${tag}`, result.ips[0]!.address.split('/')[0]!),
        control: () => c.underlay.ping(`p${tag}`, result.ips[0]!.gateway),
      });
      const gone = await tenet('CHECK', `ctr${tag}`, netns, version);
      assert.equal(gone.json?.code, 150, 'CHECK after DEL: no endpoint');
      const delPeer = await tenet('DEL', `peer${tag}`, '', version);
      assert.equal(delPeer.code, 0, 'DEL with no namespace path');
      assert.equal((await tenet('DEL', `ctl${tag}`, '', version)).code, 0);
    });
  }

  it('1.1.0: STATUS, and GC releases what the runtime no longer has', async () => {
    assert.equal((await exec(plugin, { CNI_COMMAND: 'STATUS' }, conf('1.1.0'))).code, 0);
    const st = await exec(plugin, { CNI_COMMAND: 'STATUS' }, conf('1.1.0', { network: 'nosuch' }));
    assert.equal(st.json?.code, 50, st.out);
    const keep = await c.underlay.workload('gckeep');
    const drop = await c.underlay.workload('gcdrop');
    assert.equal((await tenet('ADD', 'gckeep', keep, '1.1.0')).code, 0);
    const dropped = await tenet('ADD', 'gcdrop', drop, '1.1.0');
    assert.equal(dropped.code, 0);
    const gc = await exec(plugin, { CNI_COMMAND: 'GC' }, conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'gckeep', ifname: 'eth0' }] }));
    assert.equal(gc.code, 0, gc.out);
    const left = (await c.agent('h1').listEndpoints()).filter((e) => e.labels['tenet.cni.container']?.startsWith('gc')).map((e) => e.labels['tenet.cni.container']);
    assert.deepEqual(left, ['gckeep'], 'the valid attachment stays (positive control), the other is released');
    // What GC released is recorded like the agent's own reclaims (`tenet ep ls --stale`); the kept one is not.
    const records = (await c.controller.listReclaimed({ host: 'h1' })).filter((r) => r.labels['tenet.cni.container']?.startsWith('gc'));
    assert.deepEqual(records.map((r) => r.labels['tenet.cni.container']), ['gcdrop'], 'one record, for the released endpoint');
    assert.match(records[0]!.why, /^CNI GC: the runtime no longer lists container gcdrop eth0 among the 1 valid attachments of network red of tenant admin$/);
    assert.equal(records[0]!.attachment?.kind === 'netns' ? records[0]!.attachment.netns : '', drop, 'the record names the namespace it was attached to');
    assert.equal((await tenet('DEL', 'gckeep', keep, '1.1.0')).code, 0);
  });

  it('CHECK catches an address removed by hand, a changed MAC and a vanished veth', async () => {
    const cases: [string, (ns: string) => string[], RegExp][] = [
      ['addr', (ns) => ['ip', '-n', ns, 'addr', 'flush', 'dev', 'eth0'], /address .* was removed/],
      ['mac', (ns) => ['ip', '-n', ns, 'link', 'set', 'eth0', 'address', '02:aa:bb:cc:dd:ee'], /MAC is 02:aa:bb:cc:dd:ee/],
      ['veth', (ns) => ['ip', '-n', ns, 'link', 'del', 'eth0'], /interface is gone/],
    ];
    for (const [name, mutate, why] of cases) {
      const ns = c.underlay.workloadNs(`chk${name}`);
      const netns = await c.underlay.workload(`chk${name}`);
      assert.equal((await tenet('ADD', `chk${name}`, netns, '1.0.0')).code, 0);
      assert.equal((await tenet('CHECK', `chk${name}`, netns, '1.0.0')).code, 0, `${name}: CHECK passes before the change (positive control)`);
      await c.underlay.runner.run(mutate(ns));
      const check = await tenet('CHECK', `chk${name}`, netns, '1.0.0');
      assert.notEqual(check.code, 0, `${name}: CHECK must fail`);
      assert.equal(check.json?.code, 150, check.out);
      assert.match(String(check.json?.msg), why);
      assert.equal((await tenet('DEL', `chk${name}`, netns, '1.0.0')).code, 0);
    }
  });

  it('bad input is one CNI error with the spec code, and changes nothing', async () => {
    const before = (await c.agent('h1').listEndpoints()).length;
    const netns = await c.underlay.workload('bad');
    const wrongVersion = await tenet('ADD', 'bad', netns, '0.3.1');
    assert.equal(wrongVersion.json?.code, 1, wrongVersion.out);
    const unknownArg = await tenet('ADD', 'bad', netns, '1.0.0', {}, { CNI_ARGS: 'FOO=1' });
    assert.equal(unknownArg.json?.code, 4, unknownArg.out);
    const badConf = await exec(plugin, cniEnv('ADD', 'bad', netns), '{"cniVersion":"1.0.0"');
    assert.equal(badConf.json?.code, 7, badConf.out);
    assert.equal((await c.agent('h1').listEndpoints()).length, before);
  });

  it('portMappings: the host port reaches the container from h1 and h2, hostIP honoured, a taken port refused, gone after DEL', async () => {
    const vtep = c.underlay.hosts.get('h1')!.vtep;
    const [h1, h2] = ['h1', 'h2'].map((h) => c.underlay.hosts.get(h)!.ns) as [string, string];
    const web = await c.underlay.workload('pmweb');
    const other = await c.underlay.workload('pmother');
    serve('pmweb', 'from-web');
    serve('pmother', 'from-other');
    const mappings = [
      { hostPort: 18080, containerPort: 80, protocol: 'tcp', hostIP: '' },
      { hostPort: 18081, containerPort: 80, protocol: 'tcp', hostIP: vtep },
      { hostPort: 18082, containerPort: 80, protocol: 'tcp', hostIP: '10.255.255.254' },
    ];
    const add = await tenet('ADD', 'pmweb', web, '1.0.0', { runtimeConfig: { portMappings: mappings } });
    assert.equal(add.code, 0, add.out);
    const otherAdd = await tenet('ADD', 'pmother', other, '1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 18090, containerPort: 80, protocol: 'tcp' }] } });
    assert.equal(otherAdd.code, 0, otherAdd.out);
    await until(h2, vtep, 18080, 'from-web', 'from another host');
    await until(h1, vtep, 18080, 'from-web', 'from the host itself');
    await until(h2, vtep, 18081, 'from-web', 'hostIP = the host address');
    assert.equal(await fetchFrom(h2, vtep, 18082), undefined, 'hostIP = an address the host lacks: not on the host address (18081 on it works)');
    const ep = (await c.agent('h1').listEndpoints()).find((e) => e.labels['tenet.cni.container'] === 'pmweb');
    assert.deepEqual(ep?.ports?.map((p) => p.hostPort), [18080, 18081, 18082], 'the endpoint carries them (tenet ep ls shows them)');

    const before = (await c.agent('h1').listEndpoints()).length;
    const clash = await tenet('ADD', 'pmclash', await c.underlay.workload('pmclash'), '1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } });
    assert.equal(clash.json?.code, 144, clash.out);
    assert.match(String(clash.json?.msg), /18080/);
    assert.equal((await c.agent('h1').listEndpoints()).length, before, 'the refused ADD left no endpoint');
    const bad = await tenet('ADD', 'pmbad', await c.underlay.workload('pmbad'), '1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 18083, containerPort: 0, protocol: 'tcp' }] } });
    assert.equal(bad.json?.code, 7, bad.out);
    assert.equal((await c.agent('h1').listEndpoints()).length, before, 'a malformed mapping changed nothing');

    assert.equal((await tenet('DEL', 'pmweb', web, '1.0.0')).code, 0);
    await until(h2, vtep, 18080, undefined, 'after DEL the host port answers no more');
    assert.equal(await fetchFrom(h2, vtep, 18090), 'from-other', 'control: the other container keeps its port');
    assert.equal((await tenet('DEL', 'pmother', other, '1.0.0')).code, 0);
  });
});

/** busybox httpd in a workload namespace, serving `text`. */
function serve(workload: string, text: string): void {
  const dir = join(c.dir, workload);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), text);
  servers.push(spawn('ip', ['netns', 'exec', c.underlay.workloadNs(workload), 'timeout', '600', 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' }));
}

const fetchFrom = (ns: string, ip: string, port: number) => probe(c.underlay.runner, ns, ip, port);
const until = (ns: string, ip: string, port: number, want: string | undefined, what: string) => untilServed(c.underlay.runner, ns, ip, port, want, what);
