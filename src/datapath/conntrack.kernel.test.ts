/**
 * Reading a tenant namespace's conntrack table through the nft session's /proc/PID/net
 * (conntrack.ts listTable) must give exactly the flows `conntrack -L` gives, and cutting
 * through it must delete exactly the denied ones. Entries are inserted with `conntrack -I`
 * in a scratch namespace: no traffic is needed to have a table to read.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dropDenied, listTable, parseConntrack, readProcTable, type ConntrackFlow } from './conntrack.js';
import { NftSessionRunner } from './nft-session.js';
import { ExecRunner } from './runner.js';
import { KERNEL_TOOLS, kernelSkip } from './testing/kernel-env.js';

const exec = new ExecRunner();
const ns = `tnct${randomBytes(3).toString('hex')}`;
const inNs = (argv: string[]) => exec.run(['ip', 'netns', 'exec', ns, ...argv]);
const key = (f: ConntrackFlow) => `${f.proto} ${f.src}:${f.sport ?? ''} > ${f.dst}:${f.dport ?? ''}`;
const reference = async () => parseConntrack((await inNs(['conntrack', '-L', '-f', 'ipv4'])).stdout).map(key).sort();

describe('conntrack table read through the nft session', { skip: kernelSkip('conntrack through /proc', [...KERNEL_TOOLS, 'conntrack']) }, () => {
  let r: NftSessionRunner;
  before(async () => {
    await exec.run(['ip', 'netns', 'add', ns]);
    r = new NftSessionRunner(new ExecRunner(), { timeoutMs: 20_000 });
    await r.run(['nsenter', `--net=/run/netns/${ns}`, 'nft', '-f', '-'], { input: 'table inet t {\n}\n' }); // starts the session
    for (const port of [80, 443, 5432]) {
      await inNs(['conntrack', '-I', '-p', 'tcp', '-s', '10.1.0.2', '-d', '10.2.0.2', '--sport', String(40000 + port), '--dport', String(port), '--state', 'ESTABLISHED', '-t', '300', '-u', 'SEEN_REPLY']);
    }
    await inNs(['conntrack', '-I', '-p', 'udp', '-s', '10.1.0.3', '-d', '10.2.0.3', '--sport', '40053', '--dport', '53', '-t', '300']);
  });
  after(async () => {
    await r.close();
    await exec.run(['ip', 'netns', 'del', ns], { allowFail: true });
  });

  it('reads the same flows as conntrack -L, without starting a process', async () => {
    const pid = r.pidIn(ns);
    assert.ok(pid !== undefined, 'the session runs in the namespace');
    const spawns = r.spawns;
    const text = await listTable(r, ns);
    assert.equal(r.spawns, spawns, 'no process for the read');
    const flows = parseConntrack(text).map(key).sort();
    assert.equal(flows.length, 4);
    assert.deepEqual(flows, await reference());
  });

  it('refuses a process that is not in the namespace (the caller falls back to conntrack -L)', async () => {
    assert.equal(await readProcTable(process.pid, ns), undefined, 'this test runs in another namespace');
    assert.notEqual(await readProcTable(r.pidIn(ns)!, ns), undefined, 'the session does');
    assert.equal(await readProcTable(2 ** 22 + 1, ns), undefined, 'no such process');
  });

  it('cuts exactly the denied flows', async () => {
    const cut = await dropDenied(r, ns, (f) => f.proto === 'tcp' && f.dport === 443);
    assert.deepEqual(cut.map(key), ['tcp 10.1.0.2:40443 > 10.2.0.2:443']);
    assert.deepEqual(await reference(), ['tcp 10.1.0.2:40080 > 10.2.0.2:80', 'tcp 10.1.0.2:45432 > 10.2.0.2:5432', 'udp 10.1.0.3:40053 > 10.2.0.3:53']);
  });
});
