/**
 * Issue 7: port pinning (ADR 002, since issue 2) tested with crafted traffic from inside a
 * container. Scapy in the attacker's namespace sends frames with a forged source MAC, a forged
 * source IP (another endpoint's, and a free one), gratuitous ARP for the gateway's and another
 * endpoint's address, and ARP replies claiming them (also with an honest Ethernet header and a
 * lying ARP payload). Scapy sniffers in a victim on the same host and one on the other host see
 * none of them; the victims' and the gateway's ARP caches keep the right MACs; and the
 * attacker's own traffic, sent between the forgeries, arrives (the positive control).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { gatewayMac } from '../../src/model/mac.js';
import type { Endpoint } from '../../src/model/types.js';
import { kernelSkip, KERNEL_TOOLS } from '../../src/datapath/testing/kernel-env.js';
import { PYTHON } from '../../src/datapath/testing/traffic.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
const GW = '192.168.10.1';
const FREE_IP = '192.168.10.200';
const EVIL_MAC = '02:de:ad:be:ef:01';

/** Prints "ready", then one JSON line per frame carrying a marker or an ARP, until the timeout. */
const SNIFF = `
import json, sys
from scapy.all import sniff, ARP, Ether, Raw
def show(p):
    out = {'src': p[Ether].src}
    if ARP in p: out.update(arp=p[ARP].op, psrc=p[ARP].psrc, hwsrc=p[ARP].hwsrc)
    if Raw in p:
        raw = bytes(p[Raw].load)
        if raw.startswith(b'TENET-'): out['marker'] = raw.decode(errors='replace')
    if 'marker' in out or 'arp' in out: print(json.dumps(out), flush=True)
end = lambda p: Raw in p and bytes(p[Raw].load) == b'TENET-end'
sniff(iface='eth0', prn=show, store=False, timeout=float(sys.argv[1]), stop_filter=end, started_callback=lambda: print('ready', flush=True))
`;

/** argv: own MAC, own IP, victim MAC, victim IP, other endpoint's IP, gateway MAC, other endpoint's MAC. */
const FORGE = `
import sys, time
from scapy.all import sendp, ARP, Ether, IP, ICMP, Raw
me_mac, me_ip, v_mac, v_ip, other_ip, gw_mac, other_mac = sys.argv[1:8]
gw, free, evil, bcast = '${GW}', '${FREE_IP}', '${EVIL_MAC}', 'ff:ff:ff:ff:ff:ff'
def icmp(src_mac, src_ip, dst_mac, dst_ip, marker):
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip) / ICMP() / Raw(load=b'TENET-' + marker.encode())
def arp(eth_src, dst, op, hwsrc, psrc, pdst, hwdst='00:00:00:00:00:00'):
    return Ether(src=eth_src, dst=dst) / ARP(op=op, hwsrc=hwsrc, psrc=psrc, pdst=pdst, hwdst=hwdst)
forged = [
    icmp(evil, me_ip, bcast, v_ip, 'forged-mac'),
    icmp(evil, me_ip, v_mac, v_ip, 'forged-mac-unicast'),
    icmp(me_mac, other_ip, v_mac, v_ip, 'forged-ip-other-endpoint'),
    icmp(me_mac, free, v_mac, v_ip, 'forged-ip-free'),
    icmp(me_mac, gw, v_mac, v_ip, 'forged-ip-gateway'),
    arp(me_mac, bcast, 1, me_mac, gw, gw),               # gratuitous ARP: I am the gateway
    arp(me_mac, bcast, 2, me_mac, other_ip, other_ip),   # gratuitous reply: I am the other endpoint
    arp(me_mac, v_mac, 2, me_mac, gw, v_ip, v_mac),      # reply to the victim: the gateway is at my MAC
    arp(me_mac, gw_mac, 2, me_mac, v_ip, gw, gw_mac),    # reply to the gateway: the victim is at my MAC
    arp(me_mac, bcast, 2, evil, me_ip, me_ip),           # honest Ethernet header, lying ARP payload
    arp(evil, bcast, 2, evil, gw, gw),
]
for round in range(3):
    for p in forged: sendp(p, iface='eth0', verbose=False)
    for mac, ip in ((v_mac, v_ip), (other_mac, other_ip)): sendp(icmp(me_mac, me_ip, mac, ip, 'own-%d' % round), iface='eth0', verbose=False)
    time.sleep(0.2)
time.sleep(0.5)
for mac, ip in ((v_mac, v_ip), (other_mac, other_ip)): sendp(icmp(me_mac, me_ip, mac, ip, 'end'), iface='eth0', verbose=False)
`;

interface Seen {
  src: string;
  arp?: number;
  psrc?: string;
  hwsrc?: string;
  marker?: string;
}

/** Starts a sniffer in `ns` for `seconds` (or until the end marker); resolves once it captures. */
async function sniffer(ns: string, seconds: number): Promise<{ saw: Promise<Seen[]> }> {
  let out = '';
  const { spawn } = await import('node:child_process');
  const child = spawn('ip', ['netns', 'exec', ns, 'timeout', String(seconds + 20), PYTHON, '-c', SNIFF, String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (out += d));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const done = new Promise<Seen[]>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve(out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Seen)) : reject(new Error(`sniffer in ${ns}: exit ${code}: ${err}`)))),
  );
  await waitFor(() => out.includes('ready') || undefined, 30_000, `the sniffer in ${ns}`, 50);
  return { saw: done };
}

const neighMac = async (ns: string, ip: string): Promise<string | undefined> => {
  const entries = JSON.parse(await c.underlay.exec(ns, ['ip', '-j', 'neigh', 'show', 'to', ip])) as { lladdr?: string }[];
  return entries[0]?.lladdr;
};

describe('anti-spoofing with crafted traffic', { skip: kernelSkip('anti-spoofing with crafted traffic', [...KERNEL_TOOLS]) }, () => {
  let attacker: Endpoint, near: Endpoint, far: Endpoint;
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
    attacker = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('a1') });
    near = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('v1') });
    far = await c.agent('h2').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('v2') });
  });
  after(() => c.destroy());

  it('nothing forged reaches a victim on the same or the other host; caches stay right; own traffic works', async () => {
    // Fill the caches first: Linux ignores unsolicited ARP for unknown addresses but updates known ones.
    for (const [from, to] of [['v1', GW], ['v1', attacker.ip], ['v1', far.ip], ['v2', GW], ['v2', near.ip], ['a1', near.ip]] as const) {
      assert.ok(await waitFor(async () => (await c.underlay.ping(from, to)) || undefined, 5000, `${from} -> ${to}`));
    }
    const [v1, v2, a1] = ['v1', 'v2', 'a1'].map((w) => c.underlay.workloadNs(w)) as [string, string, string];
    const gwMac = (await neighMac(v1, GW))!;
    assert.equal(gwMac, gatewayMac(Number((await c.controller.getNetwork('acme', 'red')).vni)));
    const tenantNs = `${c.underlay.hosts.get('h1')!.ns}-acme`;

    const sniffs = await Promise.all([sniffer(v1, 60), sniffer(v2, 60)]);
    await c.underlay.exec(a1, ['timeout', '60', PYTHON, '-c', FORGE, attacker.mac, attacker.ip, near.mac, near.ip, far.ip, gwMac, far.mac]);
    const [nearSaw, farSaw] = await Promise.all(sniffs.map((s) => s.saw));

    const forged = (s: Seen) =>
      s.src === EVIL_MAC || (s.marker !== undefined && !s.marker.startsWith('TENET-own') && s.marker !== 'TENET-end') || (s.arp !== undefined && (s.hwsrc === EVIL_MAC || (s.hwsrc === attacker.mac && s.psrc !== attacker.ip)));
    assert.deepEqual(nearSaw.filter(forged), [], 'the victim on the same host saw a forged frame');
    assert.deepEqual(farSaw.filter(forged), [], 'the victim on the other host saw a forged frame');
    const own = (saw: Seen[]) => saw.filter((s) => s.src === attacker.mac && s.marker?.startsWith('TENET-own')).length;
    assert.equal(own(nearSaw), 3, "the attacker's own frames, sent between the forgeries, reach the near victim (positive control)");
    assert.equal(own(farSaw), 3, "the attacker's own frames, sent between the forgeries, reach the far victim (positive control)");

    assert.equal(await neighMac(v1, GW), gwMac, "the near victim's gateway entry");
    assert.equal(await neighMac(v2, GW), gwMac, "the far victim's gateway entry");
    assert.equal(await neighMac(v1, far.ip), far.mac, "the near victim's entry of the other endpoint");
    assert.equal(await neighMac(tenantNs, near.ip), near.mac, "the gateway's entry of the victim");
    assert.equal(await neighMac(tenantNs, FREE_IP), undefined);
    assert.ok(await c.underlay.ping('a1', far.ip), "the attacker's own traffic still works across hosts (positive control)");
  });
});
