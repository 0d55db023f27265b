/**
 * Published ports on the real kernel (ADR 015, ADR 016), driven as a user does: `tenet ep
 * expose/unexpose` write the endpoint's `ports` in the controller and h1's agent realizes
 * them (host `ip tenet-nat` DNAT, the tenant's transit pair, the tenant namespace's second
 * DNAT). A host port of h1 reaches a workload's server (busybox httpd) from h1 itself and from
 * h2; unexposed ports, ports of a removed endpoint and a host port another endpoint holds do
 * not, each checked next to a published one that does; an agent restart re-publishes the
 * desired ports, including changes made while it was down.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { buildProgram, runCli } from '../../src/cli/program.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';
import { fetchFrom as probe, untilServed } from '../support/http-probe.js';

const c = new InProcessCluster();
const servers: ChildProcess[] = [];



function serve(workload: string, text: string): void {
  const dir = join(c.dir, workload);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), text);
  servers.push(spawn('ip', ['netns', 'exec', c.underlay.workloadNs(workload), 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' }));
}

async function tenet(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['--api', `unix:${c.controllerSocket}`, ...args], buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }));
  return { code, out, err };
}

describe('tenet ep expose (two-step DNAT through a transit pair)', { skip: kernelSkip('published ports', ['ip', 'nft', 'nsenter', 'busybox']) }, () => {
  const h = (name: string) => c.underlay.hosts.get(name)!;
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
  });
  after(async () => {
    for (const s of servers) s.kill();
    await c.destroy();
  });

  it('reaches the server from the host and another host; refuses a taken host port; unexpose, removal and an agent restart do what they say', async () => {
    const a = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('wa') });
    const b = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('wb') });
    serve('wa', 'from-a');
    serve('wb', 'from-b');
    const vtep = h('h1').vtep;
    const [h1, h2] = [h('h1').ns, h('h2').ns];
    await until(c.underlay.workloadNs('wb'), a.ip, 80, 'from-a', 'control: wa serves inside its network');

    const ex = await tenet('ep', 'expose', a.id, '8080:80');
    assert.equal(ex.code, 0, ex.err);
    assert.match(ex.out, /8080:80\/tcp/);
    assert.equal((await tenet('ep', 'expose', b.id, '8081:80/tcp')).code, 0);
    await until(h2, vtep, 8080, 'from-a', 'from h2');
    await until(h1, vtep, 8080, 'from-a', 'from h1 itself');
    await until(h2, vtep, 8081, 'from-b', 'the second endpoint from h2');
    assert.equal(await fetchFrom(h2, vtep, 8082), undefined, 'a port nobody published');

    const taken = await tenet('ep', 'expose', b.id, '8080:80');
    assert.equal(taken.code, 1);
    assert.match(taken.err, /HOST_PORT_IN_USE|host port 8080\/tcp of host h1 is published by endpoint/);
    assert.deepEqual((await c.controller.getEndpoint(b.id)).ports, [{ hostPort: 8081, port: 80, proto: 'tcp' }], 'the refused expose changed nothing');
    assert.match((await tenet('ep', 'ls')).out, /8080:80\/tcp/, 'ep ls shows the ports');

    // Changes made while the agent is down are realized by its next run, from the controller.
    await c.stopAgent('h1');
    assert.equal((await tenet('ep', 'unexpose', a.id)).code, 0);
    assert.equal((await tenet('ep', 'expose', b.id, '8090:80')).code, 0);
    await c.startAgent('h1');
    await until(h2, vtep, 8090, 'from-b', 'exposed while the agent was down');
    await until(h2, vtep, 8080, undefined, 'unexposed while the agent was down');
    assert.equal(await fetchFrom(h2, vtep, 8081), 'from-b', 'control: kept across the restart');

    assert.equal((await tenet('ep', 'unexpose', b.id, '8081/tcp')).code, 0);
    await until(h2, vtep, 8081, undefined, 'unexposed');
    assert.equal(await fetchFrom(h2, vtep, 8090), 'from-b', 'control: the other port still answers');

    await c.agent('h1').remove(b.id);
    await until(h2, vtep, 8090, undefined, 'its endpoint removed');
    await waitFor(async () => (/tpx[0-9a-f]{8}/.test((await c.underlay.runner.run(['ip', '-n', h1, '-o', 'link', 'show'])).stdout) ? undefined : true), 5000, 'no transit pair is left once nothing is published');
  });
});

const fetchFrom = (ns: string, ip: string, port: number) => probe(c.underlay.runner, ns, ip, port);
const until = (ns: string, ip: string, port: number, want: string | undefined, what: string) => untilServed(c.underlay.runner, ns, ip, port, want, what);
