import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_CONTROLLER_SOCKET } from '../api/defaults.js';
import { addLabCommands, labFromOptions } from './commands.js';
import { kernelSkip } from '../datapath/testing/kernel-env.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-labcmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const prefix = `tt${randomBytes(2).toString('hex')}`;

/** The same global options and output wiring as the real program (src/cli), without importing it. */
async function tenet(...args: string[]): Promise<{ out: string; err: string; error?: unknown }> {
  let out = '';
  let err = '';
  const program = new Command('tenet')
    .configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) })
    .exitOverride()
    .option('--api <address>')
    .addOption(new Option('-o, --output <format>').choices(['table', 'json']).default('table'));
  addLabCommands(program);
  try {
    await program.parseAsync(['lab', '--prefix', prefix, '--controller-socket', join(dir, 'none.sock'), ...args], { from: 'user' });
    return { out, err };
  } catch (error) {
    return { out, err, error };
  }
}

test('the controller socket comes from --controller-socket, else a unix --api, else the default', () => {
  assert.equal(labFromOptions({ controllerSocket: '/a.sock', api: 'unix:/b.sock' }).config.controllerSocket, '/a.sock');
  assert.equal(labFromOptions({ api: 'unix:/b.sock' }).config.controllerSocket, '/b.sock');
  const http = labFromOptions({ api: 'http://127.0.0.1:7400' }).config;
  assert.equal(http.controllerSocket, DEFAULT_CONTROLLER_SOCKET);
  assert.equal(http.controllerAddress, 'http://127.0.0.1:7400');
  assert.equal(labFromOptions({ controllerSocket: '/a.sock' }).config.controllerAddress, process.env.TENET_API ?? 'unix:/a.sock');
});

test('lab ls without a lab says so, in table and JSON form', async () => {
  assert.equal((await tenet('ls')).out, `no lab with prefix ${prefix} is up\n`);
  const json = JSON.parse((await tenet('ls', '-o', 'json')).out);
  assert.deepEqual(json, { prefix, up: false, hosts: [], containers: [], processes: [] });
});

test('lab down without a lab is a quiet success', { skip: kernelSkip('lab down without a lab', ['ip']) }, async () => {
  const r = await tenet('down');
  assert.equal(r.error, undefined);
  assert.equal(r.out, `no lab with prefix ${prefix} was up; nothing to remove\n`);
});

test('lab up --hosts outside 1..16 is a usage error', async () => {
  for (const n of ['0', '17', 'two']) {
    const r = await tenet('up', '--hosts', n);
    assert.ok(r.error instanceof CommanderError && r.error.code === 'commander.invalidArgument', n);
    assert.match(r.err, /--hosts/);
  }
});

test('lab exec without a lab fails with the fix', async () => {
  const r = await tenet('exec', 'c9', '--', 'true');
  assert.match(String((r.error as Error).message), /no lab with prefix .* is up: run `tenet lab up --hosts 2` first/);
});
