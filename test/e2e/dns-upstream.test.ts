/**
 * Issue 10, `tenet net update --dns-upstream`, on the real kernel: dnsmasq (Debian, no
 * upstream of its own, one record example.test → 203.0.113.7) listens only on h2's underlay
 * address inside h2's lab namespace; h1's agent forwards names outside the tenant zone to it
 * from h1's namespace. Before the upstream is set such a name is REFUSED; after, dig in a lab
 * container on h1 gets dnsmasq's answer while the tenant's own names are still answered by
 * Tenet and never reach dnsmasq (its query log shows); removing the upstream restores REFUSED.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { ServicesLab } from '../support/services-lab.js';

const lab = new ServicesLab('192.168.72');
const t = lab.t;
/** h2's underlay address (the lab gives h1 the underlay's second address, h2 the third). */
const UPSTREAM = '10.99.0.3';
const dig = (from: string, name: string) => lab.dig(from, [name], { time: 2, tries: 1 });

describe('DNS forwarding to a per-network upstream', { skip: kernelSkip('DNS in lab namespaces'), timeout: 300_000 }, () => {
  let dnsmasq: ChildProcess | undefined;
  let dnsmasqLog = '';
  before(async () => {
    await lab.up(['acme'], [['h1', 'c1', 'acme']]);
    dnsmasq = spawn('ip', ['netns', 'exec', `${t.prefix}-h2`, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      `--listen-address=${UPSTREAM}`, '--bind-interfaces', '--address=/example.test/203.0.113.7', '--log-queries'], { stdio: ['ignore', 'ignore', 'pipe'] });
    dnsmasq.stderr!.on('data', (d: Buffer) => (dnsmasqLog += d.toString()));
    await waitFor(async () => (/started, version/.test(dnsmasqLog) ? true : undefined), 20_000, 'dnsmasq started', 100);
    await waitFor(async () => ((await dig('c1', 'c1')).status === 'NOERROR' ? true : undefined), 60_000, 'the DNS server of acme/red on h1', 300);
  });
  after(async () => {
    dnsmasq?.kill();
    await lab.destroy();
  });

  it('REFUSED without an upstream; forwarded with one; REFUSED again once removed', async () => {
    assert.equal((await dig('c1', 'www.example.test')).status, 'REFUSED', 'no upstream: not an open resolver');
    const shown = await t.json<{ dnsUpstream?: string }>('net', 'update', 'red', '--tenant', 'acme', '--dns-upstream', UPSTREAM);
    assert.equal(shown.dnsUpstream, UPSTREAM);
    await waitFor(async () => ((await dig('c1', 'www.example.test')).status === 'NOERROR' ? true : undefined), 30_000, 'forwarded answer', 200);
    assert.deepEqual((await dig('c1', 'www.example.test')).answers, ['A 203.0.113.7']);
    assert.equal((await dig('c1', 'other.org')).status, 'REFUSED', "dnsmasq's own REFUSED comes back as it is");
    assert.equal((await dig('c1', 'c1.red.acme')).status, 'NOERROR', 'positive control: the tenant zone is answered by Tenet');
    assert.equal((await dig('c1', 'nobody.red.acme')).status, 'NXDOMAIN');
    assert.equal((await dig('c1', 'nobody')).status, 'NXDOMAIN', 'a short name is never forwarded');
    assert.match(dnsmasqLog, /query\[A\] www\.example\.test from 10\.99\.0\.2/, 'forwarded from h1 (its underlay address)');
    assert.doesNotMatch(dnsmasqLog, /acme|query\[A\] nobody /i, 'no name of the tenant zone reached the upstream');

    await t.ok('net', 'update', 'red', '--tenant', 'acme', '--dns-upstream', '');
    await waitFor(async () => ((await dig('c1', 'www.example.test')).status === 'REFUSED' ? true : undefined), 30_000, 'REFUSED again', 200);
  });

  it('refuses a loopback upstream with one line, changing nothing', async () => {
    const r = await t.tenet('net', 'update', 'red', '--tenant', 'acme', '--dns-upstream', '127.0.0.53');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /INVALID_IP|127\.0\.0\.0\/8/);
    assert.equal((await t.json<{ network: { dnsUpstream?: string } }>('net', 'show', 'red', '--tenant', 'acme')).network.dnsUpstream, undefined);
  });
});
