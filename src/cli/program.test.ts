import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram, runCli } from './program.js';

/** No controller listens here: argument checks must fail before any request is sent. */
const NOWHERE = 'unix:/nonexistent/tenet-test.sock';

async function tenet(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const program = buildProgram({ out: (t) => (out += t), err: (t) => (err += t) });
  const code = await runCli(args, program);
  return { code, out, err };
}

const oneLine = (text: string) => text.trimEnd().split('\n').length === 1;

test('attach without --netns or --pid is a one-line usage error', async () => {
  const r = await tenet(['--api', NOWHERE, 'ep', 'attach', '--tenant', 't', '--net', 'n', '--agent', NOWHERE]);
  assert.equal(r.code, 2);
  assert.match(r.err, /exactly one of --netns PATH, --pid PID .* or --handoff/);
  assert.ok(oneLine(r.err));
  assert.equal(r.out, '');
});

test('attach with both --netns and --pid is refused the same way', async () => {
  const r = await tenet(['ep', 'attach', '--tenant', 't', '--net', 'n', '--netns', '/run/netns/x', '--pid', '1', '--agent', NOWHERE]);
  assert.equal(r.code, 2);
  assert.match(r.err, /exactly one of --netns PATH, --pid PID .* or --handoff/);
});

test('attach with --handoff and a namespace is refused the same way', async () => {
  const r = await tenet(['ep', 'attach', '--tenant', 't', '--net', 'n', '--handoff', '--netns', '/run/netns/x', '--agent', NOWHERE]);
  assert.equal(r.code, 2);
  assert.match(r.err, /exactly one of --netns PATH, --pid PID .* or --handoff/);
  assert.ok(oneLine(r.err));
});

test('a non-numeric --mtu is a usage error naming the option', async () => {
  const r = await tenet(['--api', NOWHERE, 'net', 'create', 'red', '--tenant', 't', '--subnet', '10.0.0.0/24', '--mtu', '15x0']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--mtu/);
  assert.ok(oneLine(r.err));
});

test('a bad --pid and an unknown output format are usage errors', async () => {
  const pid = await tenet(['ep', 'attach', '--tenant', 't', '--net', 'n', '--pid', '-3', '--agent', NOWHERE]);
  assert.equal(pid.code, 2);
  const fmt = await tenet(['-o', 'yaml', 'tenant', 'ls']);
  assert.equal(fmt.code, 2);
  assert.match(fmt.err, /yaml/);
});

test('missing mandatory options and unknown commands print one line and exit 2', async () => {
  const missing = await tenet(['net', 'create', 'red', '--subnet', '10.0.0.0/24']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--tenant/);
  const unknown = await tenet(['tennat', 'ls']);
  assert.equal(unknown.code, 2);
  assert.ok(oneLine(unknown.err), unknown.err);
});

test('an unreachable controller is one line on stderr with the fix, exit 1', async () => {
  const r = await tenet(['--api', NOWHERE, 'tenant', 'ls']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^tenet: cannot reach unix:\/nonexistent\/tenet-test.sock .*TENET_API/);
  assert.ok(oneLine(r.err));
});

test('TENET_API is used when --api is absent', async () => {
  process.env.TENET_API = NOWHERE;
  try {
    const r = await tenet(['host', 'ls']);
    assert.match(r.err, /cannot reach unix:\/nonexistent/);
  } finally {
    delete process.env.TENET_API;
  }
});

test('an unexpected error is reported as an internal error, without a stack', async () => {
  let err = '';
  const program = buildProgram({ out: () => {}, err: (t) => (err += t) });
  program.command('boom').action(() => {
    throw new TypeError('x is undefined');
  });
  assert.equal(await runCli(['boom'], program), 1);
  assert.equal(err, 'tenet: internal error: x is undefined\n');
});

test('--help exits 0', async () => {
  const r = await tenet(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /tenant/);
});

