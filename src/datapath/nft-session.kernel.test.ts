/**
 * The persistent nft session (nft-session.ts) on the real kernel, against what it replaces: a
 * fresh `nft -f -` per script. Same effects, same error text, atomic multi-line scripts,
 * restarted after kill -9, no process left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NftSessionRunner, tenantNftNamespace } from './nft-session.js';
import { CommandError, ExecRunner } from './runner.js';
import { kernelSkip } from './testing/kernel-env.js';

const exec = new ExecRunner();
const prefix = `tnfs${randomBytes(3).toString('hex')}`;
const nsA = `${prefix}-a`;
const nsB = `${prefix}-b`;
const nsC = `${prefix}-c`;
const nftArgv = (ns: string) => ['nsenter', `--net=/run/netns/${ns}`, 'nft', '-f', '-'];
const tables = async (ns: string) => (await exec.run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'tables'])).stdout.trim();
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The error a fresh `nft -f -` gives for this script, as the message callers see. */
async function processError(ns: string, script: string): Promise<string> {
  const err = await exec.run(nftArgv(ns), { input: script }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CommandError, 'the reference nft -f must fail too');
  return err.message;
}

describe('nft sessions on the kernel', { skip: kernelSkip('nft sessions on the kernel') }, () => {
  let r: NftSessionRunner;
  before(async () => {
    await exec.run(['ip', 'netns', 'add', nsA]);
    await exec.run(['ip', 'netns', 'add', nsB]);
    r = new NftSessionRunner(new ExecRunner(), { timeoutMs: 20_000 });
  });
  after(async () => {
    await r.close();
    await exec.run(['ip', 'netns', 'del', nsA], { allowFail: true });
    await exec.run(['ip', 'netns', 'del', nsB], { allowFail: true });
    await exec.run(['ip', 'netns', 'del', nsC], { allowFail: true });
  });

  it('takes over only nft -f - in a named namespace', () => {
    assert.equal(tenantNftNamespace(nftArgv('x-1')), 'x-1');
    assert.equal(tenantNftNamespace(['nsenter', '--net=/proc/1/ns/net', 'nft', '-f', '-']), undefined);
    assert.equal(tenantNftNamespace(['nft', '-f', '-']), undefined);
  });

  it('applies a multi-line script through one process, many in a row', async () => {
    const spawns = r.spawns;
    await r.run(nftArgv(nsA), { input: 'table inet t {\n  chain c {\n    type filter hook forward priority 0;\n  }\n}\n' });
    for (let i = 0; i < 50; i++) await r.run(nftArgv(nsA), { input: `flush chain inet t c\nadd rule inet t c tcp dport ${1000 + i} accept\n` });
    const rules = (await exec.run(['ip', 'netns', 'exec', nsA, 'nft', 'list', 'chain', 'inet', 't', 'c'])).stdout;
    assert.match(rules, /tcp dport 1049 accept/);
    assert.doesNotMatch(rules, /tcp dport 1048 /);
    assert.equal(r.spawns, spawns, 'no nft -f process was spawned');
    assert.equal(r.stats.fallback, 0);
    assert.equal(r.pids().size, 1);
  });

  it('is atomic: an error at the last line changes nothing, with the text nft -f gives', async () => {
    const bad = 'add table inet u\nadd chain inet u c\nadd rule inet u nope accept\n';
    const expected = await processError(nsA, bad);
    assert.match(expected, /\/dev\/stdin:3:17-20: Error: Could not process rule/);
    await assert.rejects(r.run(nftArgv(nsA), { input: bad }), (e: unknown) => e instanceof CommandError && e.message === expected);
    assert.equal(await tables(nsA), 'table inet t', 'positive control: t is there, u is not');
    const soft = await r.run(nftArgv(nsA), { input: bad, allowFail: true });
    assert.equal(soft.code, 1);
    // The session answers the next script correctly after errors.
    await r.run(nftArgv(nsA), { input: 'add table inet w\n' });
    assert.equal(await tables(nsA), 'table inet t\ntable inet w');
  });

  it('gives the same parse error text as nft -f', async () => {
    const parse = 'add table inet v\nadd rule inet v c tcp dport bogus\n';
    const expected = await processError(nsA, parse);
    await assert.rejects(r.run(nftArgv(nsA), { input: parse }), (e: unknown) => e instanceof CommandError && e.message === expected);
  });

  it('sees changes made by other processes in between', async () => {
    await exec.run(['ip', 'netns', 'exec', nsA, 'nft', 'add table inet x; add chain inet x c']);
    await r.run(nftArgv(nsA), { input: 'add rule inet x c accept\ndelete table inet w\n' });
    assert.equal(await tables(nsA), 'table inet t\ntable inet x');
  });

  it('after kill -9: the script is applied by a fresh nft -f, the next by a new session', async () => {
    const old = r.pids().get(nsA)!;
    process.kill(old, 'SIGKILL');
    await sleep(50);
    assert.equal(alive(old), false);
    await r.run(nftArgv(nsA), { input: 'add table inet k1\n' });
    await r.run(nftArgv(nsA), { input: 'add table inet k2\n' });
    assert.match(await tables(nsA), /table inet k1\ntable inet k2/);
    const now = r.pids().get(nsA);
    assert.ok(now && now !== old && alive(now), 'a new session runs');
    assert.ok(r.stats.fallback <= 1);
  });

  it('kill -9 while a transaction is queued: none is lost, order kept', async () => {
    const pid = r.pids().get(nsA)!;
    const runs = [1, 2, 3].map((i) => r.run(nftArgv(nsA), { input: `add table inet q${i}\n` }));
    process.kill(pid, 'SIGKILL');
    await Promise.all(runs);
    const now = await tables(nsA);
    for (const q of ['q1', 'q2', 'q3']) assert.equal(now.split('\n').filter((l) => l === `table inet ${q}`).length, 1, now);
  });

  it('stops the session before ip netns del, and all of them on close', async () => {
    await r.run(nftArgv(nsA), { input: 'add table inet a\n' });
    await r.run(nftArgv(nsB), { input: 'add table inet b\n' });
    const a = r.pids().get(nsA)!;
    const b = r.pids().get(nsB)!;
    assert.ok(alive(a) && alive(b));
    await r.run(['ip', 'netns', 'del', nsB]);
    assert.equal(alive(b), false, 'the session of the deleted namespace is gone');
    assert.equal(alive(a), true, 'positive control: the other one runs');
    await r.close();
    assert.equal(alive(a), false);
    assert.equal(r.pids().size, 0);
  });

  it('a namespace replaced under the same name gets a new session', async () => {
    const r2 = new NftSessionRunner(new ExecRunner());
    try {
      await exec.run(['ip', 'netns', 'add', nsC]);
      await r2.run(nftArgv(nsC), { input: 'add table inet old\n' });
      const first = r2.pids().get(nsC)!;
      await exec.run(['ip', 'netns', 'del', nsC]); // by other hands: the runner does not see it
      await exec.run(['ip', 'netns', 'add', nsC]);
      await r2.run(nftArgv(nsC), { input: 'add table inet new\n' });
      assert.equal(await tables(nsC), 'table inet new', 'applied in the new namespace');
      assert.equal(alive(first), false, 'the old session was stopped');
    } finally {
      await r2.close();
    }
  });
});
