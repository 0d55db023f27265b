/**
 * Every bad input of the issue, through the real CLI against a real controller and agent:
 * one line on stderr that says what is wrong and how to fix it, exit status 1, and nothing
 * changed (the store's objects are the same before and after).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControllerClient } from '../../src/api/client.js';
import { gatewayMac } from '../../src/model/mac.js';
import type { Endpoint, Network } from '../../src/model/types.js';
import { TenetEnv } from '../support/procs.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';

const t = new TenetEnv();

/**
 * The store's objects, read through the API in this process: the same objects `tenet … ls -o
 * json` prints, without four more CLI starts per case (12 s a case on a loaded machine).
 */
async function everything(): Promise<string> {
  const api = new ControllerClient(`unix:${t.socket}`);
  try {
    return JSON.stringify(await Promise.all([api.listTenants(), api.listNetworks(), api.listEndpoints(), api.listPolicies()]));
  } finally {
    api.close();
  }
}

const CASES: [string, string[], RegExp][] = [
  ['malformed CIDR', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '10.1.2.300/24'], /invalid subnet .*192\.168\.10\.0\/24/],
  ['host bits set', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '10.1.2.5/24'], /invalid subnet/],
  ['overlapping CIDR', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '192.168.10.128/25'], /overlaps.*red/],
  ['gateway outside the subnet', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '10.9.0.0/24', '--gateway', '10.8.0.1'], /gateway 10\.8\.0\.1 .*not a usable address/],
  ['unknown tenant', ['net', 'create', 'x', '--tenant', 'nobody', '--subnet', '10.9.0.0/24'], /tenant .*nobody/],
  ['unknown network', ['ep', 'attach', '--tenant', 'acme', '--net', 'nope', '--netns', 'NETNS'], /network .*nope/],
  ['duplicate tenant', ['tenant', 'create', 'acme'], /exists/],
  ['duplicate network', ['net', 'create', 'red', '--tenant', 'acme', '--subnet', '10.9.0.0/24'], /already/],
  ['address in use', ['ep', 'attach', '--tenant', 'acme', '--net', 'tiny', '--netns', 'NETNS', '--ip', '10.7.0.2'], /10\.7\.0\.2 .*(in use|held)/],
  ['address outside the subnet', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'NETNS', '--ip', '10.0.0.9'], /10\.0\.0\.9/],
  ['exhausted subnet', ['ep', 'attach', '--tenant', 'acme', '--net', 'tiny', '--netns', 'NETNS'], /exhausted|no free address|every address/i],
  ['deleting a network with endpoints', ['net', 'rm', 'tiny', '--tenant', 'acme'], /endpoint/],
  ['attaching a namespace that does not exist', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', '/run/netns/tenet-no-such-ns'], /does not exist/],
  // Issue 5: the control path must not be a way to root a host.
  ['attaching the agent host\'s own namespace', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'HOSTNS'], /is the agent's own network namespace/],
  ['attaching a tenant namespace Tenet made', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'TENANTNS'], /is a namespace Tenet made/],
  ['attaching the lab underlay Tenet made', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'UNDERLAYNS'], /is a namespace Tenet made/],
  ['attaching the agent\'s own process', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--pid', 'AGENTPID'], /is the agent's own network namespace/],
  ['a namespace path that is a regular file', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'REGULARFILE'], /not a network namespace|does not exist/],
  ['a namespace path with a newline', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', '/run/netns/x\nlink del eth0'], /invalid netns|namespace path/i],
  ['a namespace path with spaces', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', '/run/netns/a b'], /invalid netns|namespace path/i],
  ['the whole IPv4 space as a subnet', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '0.0.0.0/0'], /0\.0\.0\.0\/0/],
  ['a multicast subnet', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '224.1.0.0/24'], /multicast/],
  ['a loopback subnet', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '127.5.0.0/24'], /loopback/],
  ['a link-local subnet', ['net', 'create', 'bad', '--tenant', 'acme', '--subnet', '169.254.9.0/24'], /link-local/],
  ['a multicast MAC', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'NETNS', '--mac', '01:00:5e:00:00:01'], /MAC/],
  ['the gateway\'s MAC', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'NETNS', '--mac', 'GATEWAYMAC'], /MAC/],
  ['a MAC in use in the network', ['ep', 'attach', '--tenant', 'acme', '--net', 'red', '--netns', 'NETNS', '--mac', 'PROBEMAC'], /MAC/],
  // Issue 7: policies (acme has "fence", attached to red). Rule errors point at the word and its position.
  ['a malformed policy rule', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'allow tcp from any to any', '--rule', 'allow tcp frm any to any'], /^tenet: rule 2, position 11: "frm" is not a keyword; expected from$/],
  ['a policy port out of range', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'allow tcp from any to any port 70000'], /rule 1, position 32: "70000" is out of range/],
  ['a port on an icmp rule', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'allow icmp from any to any port 80'], /rule 1, position 28: "port" needs tcp or udp/],
  ['a bad CIDR in a rule', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'deny from cidr:10.0.0.300/24 to any'], /rule 1, position 16: invalid CIDR "10\.0\.0\.300\/24"/],
  ['a bad label in a rule', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'deny from group:tier to any'], /rule 1, position 17: group "tier" has no "="/],
  ['an unknown network in a rule', ['policy', 'create', 'bad', '--tenant', 'acme', '--rule', 'allow from net:nope to any'], /rule 1: tenant acme has no network named "nope"/],
  ['an unknown policy', ['net', 'update', 'red', '--tenant', 'acme', '--policy', 'fence,nope'], /no policy named "nope"/],
  ['a duplicate policy name', ['policy', 'create', 'fence', '--tenant', 'acme', '--rule', 'deny from any to any'], /has a policy named fence already/],
  ['a rate that is not a rate', ['policy', 'rate', 'fence', '--tenant', 'acme', '--target', 'net:red', '--egress', 'fast'], /egress rate "fast" is not a rate/],
  ['removing a policy while attached', ['policy', 'rm', 'fence', '--tenant', 'acme'], /attached to networks: red/],
  ['a 100 KB name, answered in one short line', ['net', 'create', 'x'.repeat(100_000), '--tenant', 'acme', '--subnet', '10.9.0.0/24'], /^.{0,300}$/],
];

describe('bad input through the CLI', { skip: kernelSkip('bad input through the CLI') }, () => {
  let netns = '';
  const placeholders: Record<string, string> = {};
  before(async () => {
    await t.startController();
    await t.okAll([['tenant', 'create', 'acme'], ['net', 'create', 'red', '--tenant', 'acme', '--subnet', '192.168.10.0/24'], ['net', 'create', 'tiny', '--tenant', 'acme', '--subnet', '10.7.0.0/30'], ['lab', 'up', '--hosts', '1']]);
    await t.okAll([['policy', 'create', 'fence', '--tenant', 'acme', '--rule', 'allow any from any to any'], ['net', 'update', 'red', '--tenant', 'acme', '--policy', 'fence']]);
    const r = await t.tenet('lab', 'run', 'h1', 'full', '--tenant', 'acme', '--net', 'tiny');
    assert.equal(r.stdout.trim(), '10.7.0.2', r.stderr);
    execFileSync('ip', ['netns', 'add', `${t.prefix}-c-spare`]); // lab down removes it with the rest
    netns = `/run/netns/${t.prefix}-c-spare`;
    await t.tenet('lab', 'run', 'h1', 'probe', '--tenant', 'acme', '--net', 'red');
    const lab = JSON.parse((await t.tenet('lab', 'ls', '-o', 'json')).stdout) as { hosts: { name: string; pid?: number }[] };
    const probe = (JSON.parse((await t.tenet('ep', 'ls', '-o', 'json')).stdout) as Endpoint[]).find((e) => e.name === 'probe')!;
    const red = (JSON.parse((await t.tenet('net', 'show', 'red', '--tenant', 'acme', '-o', 'json')).stdout) as { network: Network }).network;
    writeFileSync(join(t.dir, 'not-a-netns'), '');
    Object.assign(placeholders, {
      NETNS: netns,
      HOSTNS: `/run/netns/${t.prefix}-h1`,
      TENANTNS: `/run/netns/${t.prefix}-h1-acme`,
      UNDERLAYNS: `/run/netns/${t.prefix}-ul`,
      AGENTPID: String(lab.hosts.find((h) => h.name === 'h1')!.pid),
      REGULARFILE: join(t.dir, 'not-a-netns'),
      GATEWAYMAC: gatewayMac(red.vni), // 02:74:6e:<VNI>
      PROBEMAC: probe.mac,
    });
  });
  after(() => t.destroy());

  for (const [what, args, message] of CASES) {
    it(`rejects ${what}`, async () => {
      const before = await everything();
      const agent = `unix:${t.env.TENET_RUN_DIR}/lab/${t.prefix}-h1.sock`;
      const withNs = args.map((a) => placeholders[a] ?? a);
      const r = await t.tenet(...withNs, ...(args[0] === 'ep' ? ['--agent', agent] : []));
      const lines = r.stderr.trim().split('\n');
      assert.equal(r.code, 1, `exit status; stderr: ${r.stderr}`);
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, /^tenet: /);
      assert.match(lines[0]!, message);
      assert.equal(await everything(), before, 'nothing changed');
    });
  }
});
