/**
 * The CNI protocol without a kernel: config, env and CNI_ARGS parsing (each refusal names its
 * field and carries the spec's code), results per version (chained after a previous plugin),
 * the handler over fake agent operations (DEL twice, GC, CHECK), the executable's text, and a
 * fuzz proving the parsers only ever return or throw a TenetError.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../base/random.js';
import { CATALOG, TenetError } from '../model/errors.js';
import type { Endpoint, PublishedPort } from '../model/types.js';
import { parseCniArgs } from './args.js';
import { parseConfig } from './config.js';
import { parseEnv } from './env.js';
import { handleCni, type CniOps } from './handler.js';
import { cniLabels, cniName, endpointId, isCniEndpoint } from './identity.js';
import { conflist, installCni, pluginScript } from './install.js';
import { addResult, cniError } from './result.js';
import type { CniEnv } from './types.js';

const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'red', type: 'tenet', tenant: 'admin', network: 'red', ...extra });
const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: '' };

function refused(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TenetError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.equal(err.message.includes('\n'), false, 'one line');
    return true;
  });
}

test('config: the three versions, defaults, capabilities', () => {
  for (const v of ['0.4.0', '1.0.0', '1.1.0']) assert.equal(parseConfig(conf({ cniVersion: v }), 'ADD').cniVersion, v);
  const c = parseConfig(conf({ network: undefined, runtimeConfig: { ips: ['10.0.0.9/24'], mac: '02:00:00:00:00:09', portMappings: [{ hostPort: 8081, containerPort: 80 }] } }), 'ADD');
  assert.equal(c.network, 'red', 'network defaults to name');
  assert.deepEqual(c.runtimeConfig, { ip: '10.0.0.9', mac: '02:00:00:00:00:09', ports: [{ hostPort: 8081, port: 80, proto: 'tcp' }] });
  assert.equal(parseConfig(conf({ capabilities: { ips: true }, dns: {}, ipam: {} }), 'ADD').tenant, 'admin', 'unknown keys pass');
});

test('config: portMappings become published ports, hostIP honoured', () => {
  const ports = (pm: unknown[]) => parseConfig(conf({ runtimeConfig: { portMappings: pm } }), 'ADD').runtimeConfig.ports;
  assert.deepEqual(
    ports([
      { hostPort: 8081, containerPort: 80, protocol: 'tcp', hostIP: '' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '0.0.0.0' },
      { hostPort: 8082, containerPort: 80, protocol: 'tcp', hostIP: '10.99.0.1' },
    ]),
    [
      { hostPort: 8081, port: 80, proto: 'tcp' },
      { hostPort: 5353, port: 53, proto: 'udp' },
      { hostPort: 8082, port: 80, proto: 'tcp', hostIp: '10.99.0.1' },
    ],
  );
  assert.deepEqual(ports([]), []);
  assert.equal(ports([{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }, { hostPort: 8081, containerPort: 81, protocol: 'udp' }])?.length, 2, 'tcp and udp of one port are two mappings');
  refused(() => ports([{ hostPort: 8081, containerPort: 80, protocol: 'sctp' }]), 'CNI_INVALID_CONFIG', /portMappings\[0\]/);
  refused(() => ports([{ hostPort: 8081, containerPort: 70000 }]), 'CNI_INVALID_CONFIG', /portMappings\[0\]/);
  refused(() => ports([{ hostPort: 8081, containerPort: 80, hostIP: '::1' }]), 'CNI_INVALID_CONFIG', /portMappings\[0\]\.hostIP.*IPv4/);
  refused(() => ports([{ hostPort: 8081, containerPort: 80 }, { hostPort: 8081, containerPort: 81 }]), 'INVALID_PORT', /portMappings.*8081\/tcp is given twice/);
  refused(() => ports(Array.from({ length: 33 }, (_, i) => ({ hostPort: 9000 + i, containerPort: 80 }))), 'INVALID_PORT', /at most 32/);
  assert.equal(CATALOG.INVALID_PORT.cni, 7, 'a bad mapping is an invalid config to the runtime');
});

test('config: each refusal names the field, with the spec code', () => {
  refused(() => parseConfig('{', 'ADD'), 'CNI_INVALID_CONFIG', /not JSON/);
  refused(() => parseConfig('[]', 'ADD'), 'CNI_INVALID_CONFIG', /not a JSON object/);
  refused(() => parseConfig(conf({ cniVersion: '0.3.1' }), 'ADD'), 'CNI_VERSION_UNSUPPORTED', /0\.3\.1/);
  refused(() => parseConfig(conf({ cniVersion: undefined }), 'ADD'), 'CNI_INVALID_CONFIG', /cniVersion/);
  refused(() => parseConfig(conf({ type: 'bridge' }), 'ADD'), 'CNI_INVALID_CONFIG', /"type"/);
  refused(() => parseConfig(conf({ name: 'a b' }), 'ADD'), 'CNI_INVALID_CONFIG', /"name"/);
  refused(() => parseConfig(conf({ tenant: undefined }), 'ADD'), 'CNI_INVALID_CONFIG', /"tenant"/);
  refused(() => parseConfig(conf({ network: 'Bad!' }), 'ADD'), 'CNI_INVALID_CONFIG', /"network"/);
  refused(() => parseConfig(conf({ runtimeConfig: { ips: ['10.0.0.1', '10.0.0.2'] } }), 'ADD'), 'CNI_INVALID_CONFIG', /one IPv4/);
  refused(() => parseConfig(conf({ runtimeConfig: { ips: ['fd00::1/64'] } }), 'ADD'), 'CNI_INVALID_CONFIG', /not an IPv4/);
  refused(() => parseConfig(conf({ runtimeConfig: { mac: 'ff:ff:ff:ff:ff:ff' } }), 'ADD'), 'CNI_INVALID_CONFIG', /runtimeConfig\.mac/);
  refused(() => parseConfig(conf({ runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } }), 'ADD'), 'CNI_INVALID_CONFIG', /portMappings\[0\]/);
  refused(() => parseConfig(conf({ prevResult: { ips: [{}] } }), 'ADD'), 'CNI_INVALID_CONFIG', /prevResult\.ips/);
  refused(() => parseConfig(conf(), 'STATUS'), 'CNI_VERSION_UNSUPPORTED', /1\.1\.0/);
  refused(() => parseConfig(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ ifname: 'eth0' }] }), 'GC'), 'CNI_INVALID_CONFIG', /valid-attachments\[0\]/);
  assert.equal(CATALOG.CNI_VERSION_UNSUPPORTED.cni, 1);
  assert.equal(CATALOG.CNI_INVALID_ENV.cni, 4);
  assert.equal(CATALOG.CNI_INVALID_CONFIG.cni, 7);
});

test('CNI_ARGS: IP, MAC, pod name and namespace; unknown keys need IgnoreUnknown=1', () => {
  assert.deepEqual(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=prod;IP=10.0.0.5;MAC=02:00:00:00:00:05;FOO=bar'), {
    podName: 'web',
    podNamespace: 'prod',
    ip: '10.0.0.5',
    mac: '02:00:00:00:00:05',
  });
  assert.deepEqual(parseCniArgs(''), {});
  assert.deepEqual(parseCniArgs('K8S_POD_UID=1;K8S_POD_INFRA_CONTAINER_ID=2'), {});
  refused(() => parseCniArgs('FOO=bar'), 'CNI_INVALID_ENV', /unknown key "FOO".*IgnoreUnknown=1/);
  refused(() => parseCniArgs('IgnoreUnknown=0;FOO=bar'), 'CNI_INVALID_ENV', /FOO/);
  refused(() => parseCniArgs('IP'), 'CNI_INVALID_ENV', /malformed pair/);
});

test('env: what each command needs', () => {
  assert.equal(parseEnv(ENV).containerId, 'c0ffee');
  assert.equal(parseEnv({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
  assert.equal(parseEnv({ ...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns, '', 'DEL without a namespace is fine');
  refused(() => parseEnv({ ...ENV, CNI_COMMAND: 'ATTACH' }), 'CNI_INVALID_ENV', /CNI_COMMAND/);
  refused(() => parseEnv({ ...ENV, CNI_CONTAINERID: '' }), 'CNI_INVALID_ENV', /CNI_CONTAINERID/);
  refused(() => parseEnv({ ...ENV, CNI_CONTAINERID: '-x' }), 'CNI_INVALID_ENV', /CNI_CONTAINERID/);
  refused(() => parseEnv({ ...ENV, CNI_IFNAME: 'a-very-long-ifname' }), 'CNI_INVALID_ENV', /CNI_IFNAME/);
  refused(() => parseEnv({ ...ENV, CNI_IFNAME: '' }), 'CNI_INVALID_ENV', /CNI_IFNAME/);
  refused(() => parseEnv({ ...ENV, CNI_NETNS: '' }), 'CNI_INVALID_ENV', /CNI_NETNS/);
});

const EP: Endpoint = {
  id: 'cni-x', tenant: 'admin', network: 'red', networkId: 'n1', labels: {}, host: 'h1', mac: '02:00:0a:00:00:05', ip: '10.0.0.5', prefixLen: 24, gateway: '10.0.0.1',
  status: 'up', createdAt: '', updatedAt: '',
};
const envOf = (o: Partial<CniEnv> = {}): CniEnv => ({ command: 'ADD', containerId: 'c0ffee', netns: '/run/netns/x', ifname: 'eth0', args: {}, ...o });

test('result: per version, chained after a previous result', () => {
  const v1 = addResult(parseConfig(conf(), 'ADD'), envOf(), EP);
  assert.deepEqual(v1, {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: EP.mac, sandbox: '/run/netns/x' }],
    ips: [{ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }],
    dns: { nameservers: ['10.0.0.1'], search: ['red.admin', 'admin'] },
  });
  const v04 = addResult(parseConfig(conf({ cniVersion: '0.4.0' }), 'ADD'), envOf({ ifname: 'eth1' }), EP);
  assert.deepEqual(v04.ips, [{ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 0, version: '4' }]);
  assert.deepEqual(v04.routes, [], 'only eth0 gets the default route');
  assert.equal(v04.dns, undefined, 'and the DNS server: one resolv.conf per container');
  const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'lo' }], ips: [{ address: '127.0.0.1/8', interface: 0 }], dns: { nameservers: ['10.0.0.2'] } };
  const chained = addResult(parseConfig(conf({ prevResult: prev }), 'ADD'), envOf(), EP);
  assert.equal(chained.interfaces!.length, 2);
  assert.deepEqual(chained.ips![1], { address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 1 });
  assert.deepEqual(chained.dns, { nameservers: ['10.0.0.1', '10.0.0.2'], search: ['red.admin', 'admin'] }, "Tenet's server first, the previous one kept");
  const second = addResult(parseConfig(conf({ prevResult: prev }), 'ADD'), envOf({ ifname: 'net1' }), EP);
  assert.deepEqual(second.dns, prev.dns, 'a secondary interface passes the previous DNS on');
});

test('errors: catalog code, message, and a bug says nothing more', () => {
  assert.deepEqual(cniError(new TenetError('IP_IN_USE', 'taken'), '1.0.0'), { cniVersion: '1.0.0', code: 109, msg: 'taken', details: 'tenet IP_IN_USE' });
  const bug = cniError(new Error('boom'), '0.4.0');
  assert.equal(bug.code, 999);
});

test('identity: (container id, ifname) names the endpoint; labels and name from the pod', () => {
  assert.equal(endpointId('a', 'eth0'), endpointId('a', 'eth0'));
  assert.notEqual(endpointId('a', 'eth0'), endpointId('a', 'eth1'));
  assert.match(endpointId('a', 'eth0'), /^cni-[0-9a-f]{40}$/);
  const env = envOf({ containerId: 'abcdef0123456789', args: { podName: 'web', podNamespace: 'prod' } });
  assert.deepEqual(cniLabels(env), { 'tenet.cni.container': 'abcdef012345', 'tenet.cni.ifname': 'eth0', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'prod' });
  assert.equal(cniName(env), 'web.prod');
  assert.equal(cniName(envOf({ args: { podName: 'bad name' } })), undefined);
  assert.ok(isCniEndpoint({ ...EP, id: endpointId('a', 'eth0'), labels: { 'tenet.cni.container': 'a' } }));
  assert.ok(!isCniEndpoint({ ...EP, id: endpointId('a', 'eth0') }));
});

type FakeOps = CniOps & { eps: Map<string, Endpoint>; removed: string[]; published: Map<string, PublishedPort[]>; refuse?: TenetError };

function fakeOps(): FakeOps {
  const eps = new Map<string, Endpoint>();
  const removed: string[] = [];
  const published = new Map<string, PublishedPort[]>();
  const ops: FakeOps = {
    eps,
    removed,
    published,
    attach: async (req) => {
      const ep = { ...EP, id: req.id!, labels: req.labels ?? {}, ip: req.ip ?? EP.ip };
      eps.set(ep.id, ep);
      return ep;
    },
    find: async (id) => eps.get(id),
    remove: async (id, reclaimed) => {
      removed.push(reclaimed === undefined ? id : `${id} (${reclaimed})`);
      eps.delete(id);
    },
    check: async () => undefined,
    status: async () => undefined,
    localEndpoints: () => [...eps.values()],
    publish: async (id, ports) => {
      if (ops.refuse) throw ops.refuse;
      published.set(id, ports);
    },
  };
  return ops;
}

test('handler: ADD with IP=, DEL twice, CHECK without an endpoint, GC keeps the valid ones', async () => {
  const ops = fakeOps();
  const add = await handleCni({ ...ENV, CNI_ARGS: 'IgnoreUnknown=1;IP=10.0.0.7' }, conf(), ops);
  assert.ok(add.ok);
  assert.equal((add.result as { ips: { address: string }[] }).ips[0]!.address, '10.0.0.7/24');
  for (let i = 0; i < 2; i++) assert.deepEqual(await handleCni({ ...ENV, CNI_COMMAND: 'DEL' }, conf(), ops), { ok: true, result: undefined });
  const check = await handleCni({ ...ENV, CNI_COMMAND: 'CHECK' }, conf(), ops);
  assert.ok(!check.ok && check.error.code === 150 && /no endpoint/.test(check.error.msg));
  for (const id of ['keep', 'drop']) await handleCni({ ...ENV, CNI_CONTAINERID: id }, conf(), ops);
  const gc = await handleCni({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }), ops);
  assert.ok(gc.ok);
  assert.deepEqual([...ops.eps.keys()], [endpointId('keep', 'eth0')]);
  // DEL is no reclaim; GC's release says why, for `tenet ep ls --stale`.
  assert.deepEqual(ops.removed.slice(-1), [`${endpointId('drop', 'eth0')} (CNI GC: the runtime no longer lists container drop eth0 among the 1 valid attachments of network red of tenant admin)`]);
  assert.ok(!ops.removed[0]!.includes('('), 'a DEL is recorded as a plain delete');
  const bad = await handleCni({ ...ENV, CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.4.0', runtimeConfig: { ips: 'x' } }), ops);
  assert.ok(!bad.ok && bad.error.code === 7 && bad.error.cniVersion === '1.0.0');
});

test('handler: ADD publishes portMappings; a refused port fails the ADD and leaves no endpoint', async () => {
  const ops = fakeOps();
  const withPorts = conf({ runtimeConfig: { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp', hostIP: '' }] } });
  assert.ok((await handleCni(ENV, withPorts, ops)).ok);
  const id = endpointId(ENV.CNI_CONTAINERID, 'eth0');
  assert.deepEqual(ops.published.get(id), [{ hostPort: 8081, port: 80, proto: 'tcp' }]);
  assert.ok((await handleCni({ ...ENV, CNI_CONTAINERID: 'noports' }, conf(), ops)).ok);
  assert.equal(ops.published.has(endpointId('noports', 'eth0')), false, 'no mappings: nothing written');
  ops.refuse = new TenetError('HOST_PORT_IN_USE', 'host port 8081/tcp is published by endpoint x');
  const clash = await handleCni({ ...ENV, CNI_CONTAINERID: 'clash' }, withPorts, ops);
  assert.ok(!clash.ok && clash.error.code === 144 && clash.error.details === 'tenet HOST_PORT_IN_USE', JSON.stringify(clash));
  assert.equal(ops.eps.has(endpointId('clash', 'eth0')), false, 'the refused ADD removed its endpoint');
  const before = ops.eps.size;
  const bad = await handleCni({ ...ENV, CNI_CONTAINERID: 'bad' }, conf({ runtimeConfig: { portMappings: [{ hostPort: 8081, containerPort: 80, hostIP: 'fd00::1' }] } }), ops);
  assert.ok(!bad.ok && bad.error.code === 7 && /hostIP/.test(bad.error.msg));
  assert.equal(ops.eps.size, before, 'a malformed mapping changes nothing');
});

test('install: conflist as the issue shows it, and the executable answers VERSION itself', () => {
  assert.deepEqual(conflist({ tenant: 'admin', name: 'red' }), {
    cniVersion: '1.0.0',
    name: 'red',
    plugins: [{ type: 'tenet', tenant: 'admin', network: 'red', capabilities: { portMappings: true, ips: true, mac: true } }],
  });
  assert.equal((conflist({ tenant: 'blue', name: 'red' }) as { name: string }).name, 'red.blue');
  const script = pluginScript('/run/tenet/cni.sock');
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /--fail-with-body/);
  assert.match(script, /\{"cniVersion":"%s","supportedVersions":\["0\.4\.0","1\.0\.0","1\.1\.0"\]\}/);
});

test('install: without a C compiler the sh script is written, and the install says why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-cni-nocc-'));
  const path = process.env.PATH;
  try {
    process.env.PATH = join(dir, 'empty'); // no cc to be found
    const out = installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), socket: '/run/tenet/cni.sock', networks: [] });
    assert.match(out.plugin, /sh script over curl \(no C compiler/);
    assert.equal(readFileSync(out.files[0]!, 'utf8'), pluginScript('/run/tenet/cni.sock'));
    const asked = installCni({ binDir: join(dir, 'bin2'), confDir: join(dir, 'net.d'), socket: '/s', networks: [], plugin: 'sh' });
    assert.match(asked.plugin, /asked for/);
  } finally {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: the config, env and CNI_ARGS parsers only ever return or throw a TenetError', () => {
  const seed = Date.now() % 1_000_000;
  const next = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)]!;
  const values = [null, 0, -1, 1.5, '', 'x', '1.0.0', '0.4.0', '1.1.0', 'tenet', 'admin', 'red', [], {}, ['10.0.0.1'], { ips: ['10.0.0.1/33'] }, { mac: '02:00:00:00:00:01' }, [{ address: 1 }], true];
  const keys = ['cniVersion', 'name', 'type', 'tenant', 'network', 'runtimeConfig', 'prevResult', 'cni.dev/valid-attachments', 'ips', 'mac', 'portMappings', 'interfaces'];
  const commands = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
  const mustOnlyThrowTenetError = (fn: () => unknown, what: string) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof TenetError, `${what}: ${String(err)}`);
    }
  };
  for (let i = 0; i < 5_000; i++) {
    const obj: Record<string, unknown> = { cniVersion: '1.0.0', type: 'tenet', name: 'red', tenant: 'admin' };
    for (let k = 0; k < 4; k++) obj[pick(keys)] = next() < 0.3 ? { [pick(keys)]: pick(values) } : pick(values);
    mustOnlyThrowTenetError(() => parseConfig(JSON.stringify(obj), pick([...commands])), `seed ${seed}, config ${i}`);
    const bytes = Array.from({ length: Math.floor(next() * 60) }, () => String.fromCharCode(Math.floor(next() * (next() < 0.9 ? 128 : 0x10000)))).join('');
    mustOnlyThrowTenetError(() => parseConfig(bytes, 'ADD'), `seed ${seed}, bytes ${i}`);
    mustOnlyThrowTenetError(() => parseCniArgs(bytes.replace(/[^;=A-Za-z0-9]/g, (c) => (next() < 0.5 ? ';' : c))), `seed ${seed}, args ${i}`);
    mustOnlyThrowTenetError(() => parseEnv({ CNI_COMMAND: pick([...commands, bytes]), CNI_CONTAINERID: bytes, CNI_IFNAME: bytes.slice(0, 20), CNI_NETNS: bytes, CNI_ARGS: bytes }), `seed ${seed}, env ${i}`);
  }
});
