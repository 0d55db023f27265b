/**
 * A real `tenet controller --listen 127.0.0.1:0` process: it makes its CA, certificate and
 * admin token, answers https verified against that CA and refuses plain http; the CLI reaches
 * it with --api/--token-file/--ca; an agent joins it with nothing but a join token, and
 * restarts from its stored credential.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import { recordingLogger } from '../controller/testing.js';
import { agentCredentials } from './join.js';
import { TENET_SCRIPT } from './version.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-ctlproc-'));
const dataDir = join(dir, 'data');
const socket = join(dir, 'tenet.sock');
let child: ChildProcess;
let url = '';

/** Runs the CLI against the test's controller; resolves with what a user sees. */
function tenet(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TENET_SCRIPT, ...args], { env: { ...process.env, TENET_API: undefined, TENET_TOKEN: undefined, TENET_CA: undefined, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

before(async () => {
  child = spawn(process.execPath, [TENET_SCRIPT, 'controller', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--socket', socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /"https":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m && out.includes('controller serving API')) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`controller exited (${code}): ${out}`)));
  });
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the controller serves https with the CA it made, and refuses plain http and unknown CAs', async () => {
  assert.equal(statSync(join(dataDir, 'tls', 'ca.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, 'tls', 'server.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, 'admin.token')).mode & 0o777, 0o600);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const ok = new ControllerClient(url, { ca, token });
  const plain = new ControllerClient(url.replace('https:', 'http:'), { token });
  const untrusted = new ControllerClient(url, { token });
  try {
    assert.equal((await ok.health()).ok, true);
    await assert.rejects(plain.health(), (e: any) => e.code === 'CONTROLLER_UNREACHABLE' && /https only/.test(e.message));
    await assert.rejects(untrusted.health(), (e: any) => e.code === 'CONTROLLER_UNREACHABLE' && /--ca/.test(e.message));
  } finally {
    for (const c of [ok, plain, untrusted]) c.close();
  }
});

test('the CLI: admin over the socket, and over https with --token-file and --ca; one clear line without a token', async () => {
  const created = await tenet(['token', 'create', '--agent', '--ttl', '1h'], { TENET_API: `unix:${socket}` });
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^tenet-join\.[0-9a-f]{64}\.[0-9a-f]{12}\.[0-9a-f]{32}\n$/);
  const remote = ['--api', url, '--ca', join(dataDir, 'tls', 'ca.crt')];
  const withToken = await tenet([...remote, '--token-file', join(dataDir, 'admin.token'), 'token', 'ls']);
  assert.equal(withToken.code, 0, withToken.stderr);
  assert.match(withToken.stdout, /join \(agent\)/);
  const without = await tenet([...remote, 'tenant', 'ls']);
  assert.equal(without.code, 1);
  assert.match(without.stderr, /^tenet: the controller requires a token over TCP: pass --token .*\n$/);
});

test('an agent joins with only a join token, keeps a 0600 credential, and restarts without the token', async () => {
  const created = await tenet(['token', 'create', '--agent', '-o', 'json'], { TENET_API: `unix:${socket}` });
  const joinToken = (JSON.parse(created.stdout) as { token: string }).token;
  const stateDir = join(dir, 'agent-a');
  const log = recordingLogger([]);

  const forged = joinToken.replace(/^tenet-join\.[0-9a-f]{64}/, `tenet-join.${'ab'.repeat(32)}`);
  await assert.rejects(agentCredentials({ controller: url, joinToken: forged, stateDir: join(dir, 'agent-x') }, 'hx', log), /does not match the join token/);

  const first = await agentCredentials({ controller: url, joinToken, stateDir }, 'ha', log);
  assert.match(first.token!, /\.ha$/);
  assert.equal(statSync(join(stateDir, 'credential')).mode & 0o777, 0o600);
  const restarted = await agentCredentials({ controller: url, stateDir }, 'ha', log);
  assert.equal(restarted.token, first.token);
  const client = new ControllerClient(url, restarted);
  try {
    assert.equal((await client.registerHost('ha', { vtep: '192.0.2.10', underlayMtu: 1500 })).host.name, 'ha');
    await assert.rejects(client.registerHost('hb', { vtep: '192.0.2.10', underlayMtu: 1500 }), (e: any) => e.code === 'FORBIDDEN');
  } finally {
    client.close();
  }
  await assert.rejects(agentCredentials({ controller: url, stateDir: join(dir, 'agent-b') }, 'hb', log), /--join-token/);
});
