/**
 * The kernel-test gate: a skip for lack of root or a tool is allowed on a developer's
 * machine and is a failure as root or in CI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { kernelProblem, skipIsFailure, type KernelEnv } from './kernel-env.js';

const env = (root: boolean, ci: boolean, missing: string[] = []): KernelEnv => ({ root, ci, has: (t) => !missing.includes(t) });

test('kernel gate: what is missing, and when a skip is a failure', () => {
  assert.equal(kernelProblem(env(true, false)), undefined);
  assert.equal(kernelProblem(env(false, false)), 'not running as root');
  assert.equal(kernelProblem(env(true, false, ['nft', 'ping'])), 'missing nft, ping');
  assert.equal(kernelProblem(env(false, true, ['nft'])), 'not running as root; missing nft');
  assert.equal(skipIsFailure(env(false, false)), false, 'a laptop without root may skip');
  assert.equal(skipIsFailure(env(false, true)), true, 'CI without root must fail');
  assert.equal(skipIsFailure(env(true, false)), true, 'root missing a tool must fail');
});

test('kernel gate: a skip in CI makes the run fail, on a laptop it does not', () => {
  const gate = new URL('./kernel-env.js', import.meta.url).href;
  const script = `import(${JSON.stringify(gate)}).then((m) => console.log(m.kernelSkip('probe', ['tenet-no-such-tool'])))`;
  const run = (ci: string) => spawnSync(process.execPath, ['-e', script], { env: { ...process.env, CI: ci }, encoding: 'utf8' });
  const strict = run('true');
  assert.notEqual(strict.status, 0, 'CI: the added test fails the run');
  assert.match(strict.stdout, /probe: the kernel tests can run here[\s\S]*missing tenet-no-such-tool/);
  if (process.getuid?.() !== 0) assert.equal(run('').status, 0, 'a laptop without root: a plain skip');
});
