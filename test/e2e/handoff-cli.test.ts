/**
 * `tenet ep attach --handoff` as a user runs it, against a lab agent: the CLI prints the host
 * interface a runtime (Docker) will move into its sandbox, and that interface exists in the
 * lab host's namespace, down (the runtime brings it up on its side), with the endpoint's MAC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import type { LabListing } from '../../src/lab/lab.js';
import type { Endpoint } from '../../src/model/types.js';
import { TenetEnv } from '../support/procs.js';

const t = new TenetEnv();

/** The one row of a printed table, by header (cells are separated by 2+ spaces; none is empty). */
function row(table: string): Record<string, string> {
  const [header, line] = table.trim().split('\n');
  const headers = header!.split(/\s{2,}/);
  const cells = line!.split(/\s{2,}/);
  assert.equal(cells.length, headers.length, table);
  return Object.fromEntries(headers.map((h, i) => [h, cells[i]!]));
}

interface Link {
  ifname: string;
  address: string;
  flags: string[];
  operstate: string;
}

describe('tenet ep attach --handoff through the CLI', { skip: kernelSkip('handoff through the CLI'), timeout: 120_000 }, () => {
  before(async () => {
    await t.startController();
    await t.okAll([['tenant', 'create', 'acme'], ['net', 'create', 'red', '--tenant', 'acme', '--subnet', '192.168.70.0/24'], ['lab', 'up', '--hosts', '1']]);
  });
  after(() => t.destroy());

  it('prints the host interface; it is in the host namespace, down, with the MAC of the endpoint', async () => {
    const h1 = (await t.json<LabListing>('lab', 'ls')).hosts.find((h) => h.name === 'h1')!;
    const r = await t.tenetWith({ TENET_AGENT: `unix:${h1.socket}` }, 'ep', 'attach', '--tenant', 'acme', '--net', 'red', '--handoff');
    assert.equal(r.code, 0, r.stderr);
    const printed = row(r.stdout);
    assert.match(printed['HOST IFNAME']!, /^tnh[0-9a-f]{10}$/, r.stdout);
    const ep = await t.json<Endpoint>('ep', 'show', printed.ID!);
    assert.equal(ep.status, 'up');
    assert.ok(ep.attachment?.kind === 'handoff' && ep.attachment.hostIfname === printed['HOST IFNAME'], JSON.stringify(ep.attachment));
    assert.equal(printed.MAC, ep.mac);

    const links = await t.run(['ip', '-n', h1.netns, '-j', 'link', 'show']);
    assert.equal(links.code, 0, links.stderr);
    const all = JSON.parse(links.stdout) as Link[];
    assert.ok(all.some((l) => l.ifname === 'eth0'), 'positive control: the lab host namespace is the one listed');
    const link = all.find((l) => l.ifname === printed['HOST IFNAME']);
    assert.ok(link, `${printed['HOST IFNAME']} in ${h1.netns}: ${all.map((l) => l.ifname).join(', ')}`);
    assert.ok(!link.flags.includes('UP'), `left down for the runtime: ${link.flags.join(',')}`);
    assert.equal(link.address, ep.mac, "the endpoint's MAC");

    const rm = await t.tenetWith({ TENET_AGENT: `unix:${h1.socket}` }, 'ep', 'rm', ep.id);
    assert.equal(rm.code, 0, rm.stderr);
    const gone = JSON.parse((await t.run(['ip', '-n', h1.netns, '-j', 'link', 'show'])).stdout) as Link[];
    assert.ok(!gone.some((l) => l.ifname === printed['HOST IFNAME']), 'removing the endpoint removes the interface');
  });
});
