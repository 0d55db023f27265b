/**
 * The C forwarder and the sh script are two builds of one contract (ADR 018): for the same
 * environment and stdin they must print the same bytes and exit with the same code. Checked
 * against a real agent on the kernel: VERSION (no agent), a down agent, ADD and DEL, and error
 * answers, one of them with values that need percent-encoding (the agent's message quotes
 * them back, so a wrong encoding shows as a difference).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/base/logger.js';
import { buildCniApp } from '../../src/agent/cni-server.js';
import { installCni } from '../../src/cni/install.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
let cniApp: FastifyInstance;
let socket = '';
let forwarder = '';
let script = '';
let forwarderKind = '';

interface Run {
  code: number;
  out: string;
}

function exec(bin: string, env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TENET_CNI_SOCKET: socket, ...env } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
    p.stdin.end(stdin);
  });
}

/** Runs both executables the same way; asserts identical stdout and exit code; returns the run. */
async function same(what: string, env: Record<string, string>, stdin: string): Promise<Run> {
  const viaC = await exec(forwarder, env, stdin);
  const viaSh = await exec(script, env, stdin);
  assert.deepEqual(viaC, viaSh, `${what}: the forwarder and the script differ`);
  return viaC;
}

const conf = (version: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: version, name: 'red', type: 'tenet', tenant: 'admin', network: 'red', ...extra });
const cniEnv = (command: string, id: string, netns: string, extra: Record<string, string> = {}) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1', ...extra });

const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('the C forwarder answers exactly as the sh script', { skip: kernelSkip('the CNI forwarder on the kernel') || (!hasCc && 'needs a C compiler (cc) to build the forwarder') }, () => {
  before(async () => {
    await c.start(['h1']);
    await c.controller.createTenant('admin').catch(() => undefined);
    await c.controller.createNetwork('admin', { name: 'red', subnet: '10.78.0.0/24' });
    socket = join(c.dir, 'cni.sock');
    cniApp = buildCniApp(c.agentObject('h1'), c.underlay.runner, silentLogger);
    await cniApp.listen({ path: socket });
    const nets = [{ tenant: 'admin', name: 'red' }];
    const built = installCni({ binDir: join(c.dir, 'bin-c'), confDir: join(c.dir, 'net.d'), socket, networks: nets });
    forwarder = built.files[0]!;
    forwarderKind = built.plugin;
    script = installCni({ binDir: join(c.dir, 'bin-sh'), confDir: join(c.dir, 'net.d'), socket, networks: nets, plugin: 'sh' }).files[0]!;
  });
  after(async () => {
    await cniApp?.close();
    await c.destroy();
  });

  it('install built the forwarder (an ELF binary) and, asked for it, the script', () => {
    assert.match(forwarderKind, /C forwarder/);
    assert.equal(readFileSync(forwarder).subarray(0, 4).toString('latin1'), '\x7fELF');
    assert.match(readFileSync(script, 'utf8'), /^#!\/bin\/sh\n/);
  });

  it('VERSION, with no agent: the config version when supported, else the latest', async () => {
    const down = { CNI_COMMAND: 'VERSION', TENET_CNI_SOCKET: '/nonexistent.sock' };
    for (const stdin of ['{"cniVersion":"0.4.0"}', '{"cniVersion": "1.0.0", "name": "x"}', '{\n  "name": "x",\n  "cniVersion" : "1.1.0"\n}\n', '{"cniVersion":"0.3.1"}', '{}', '']) {
      const v = await same(`VERSION ${JSON.stringify(stdin)}`, down, stdin);
      assert.equal(v.code, 0, v.out);
      assert.match(v.out, /"supportedVersions":\["0\.4\.0","1\.0\.0","1\.1\.0"\]/);
    }
  });

  it('a down agent: the same code-11 CNI error and exit 1', async () => {
    const down = await same('down agent', { ...cniEnv('ADD', 'x1', '/run/netns/none'), TENET_CNI_SOCKET: join(c.dir, 'nothing-here.sock') }, conf('1.0.0'));
    assert.equal(down.code, 1);
    assert.equal((JSON.parse(down.out) as { code: number }).code, 11, down.out);
  });

  it('ADD and DEL against the agent: the same result (addresses aside), the same empty DEL', async () => {
    const runs: Run[] = [];
    for (const [name, bin] of [['fwdc', forwarder], ['fwdsh', script]] as const) {
      const netns = await c.underlay.workload(name);
      const add = await exec(bin, cniEnv('ADD', name, netns), conf('1.0.0'));
      assert.equal(add.code, 0, add.out);
      runs.push({ code: add.code, out: add.out.replaceAll(netns, 'NETNS').replace(/10\.78\.0\.\d+\//g, 'IP/').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC') });
    }
    assert.deepEqual(runs[0], runs[1], 'ADD: the forwarder and the script differ');
    for (let i = 0; i < 2; i++) {
      const del = await exec(forwarder, cniEnv('DEL', 'fwdc', ''), conf('1.0.0'));
      assert.deepEqual(del, await exec(script, cniEnv('DEL', 'fwdsh', ''), conf('1.0.0')), `DEL #${i + 1}`);
      assert.deepEqual(del, { code: 0, out: '' });
    }
  });

  it('error answers: the agent refusal printed as is, exit 1, values percent-encoded alike', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['unknown network', cniEnv('ADD', 'e1', '/run/netns/none'), conf('1.0.0', { network: 'nosuch' })],
      ['unknown CNI_ARGS', cniEnv('ADD', 'e2', '/run/netns/none', { CNI_ARGS: 'FOO=a&b c%25;X=é+?#' }), conf('1.0.0')],
      ['bad container id', cniEnv('CHECK', 'a&b=c d%/é?#', '/run/netns/none'), conf('1.0.0')],
      ['malformed config', cniEnv('ADD', 'e3', '/run/netns/none'), '{"cniVersion":"1.0.0"'],
    ];
    for (const [what, env, stdin] of cases) {
      const run = await same(what, env, stdin);
      assert.equal(run.code, 1, `${what}: ${run.out}`);
      assert.ok((JSON.parse(run.out) as { code: number }).code > 0, `${what}: ${run.out}`);
    }
    const ok = await same('STATUS (positive control)', { CNI_COMMAND: 'STATUS' }, conf('1.1.0'));
    assert.deepEqual(ok, { code: 0, out: '' });
  });
});
