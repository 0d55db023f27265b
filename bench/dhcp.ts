/**
 * Time to a DHCP lease for many containers at once (issue 10): `--count` lab containers on
 * one host, attached through the agent, then stripped of their address (as `lab run --dhcp`
 * does), and ISC dhclient started in all of them at the same moment; each is timed from that
 * common start until it logs its lease (and from its own first DISCOVER: the exchange without
 * the client's start-up, which dominates on a loaded machine). Baseline, same run: dnsmasq as DHCP server on a bridge
 * in a namespace of the benchmark's own, with a fixed address per MAC as Tenet has (no pool,
 * no ping check), and the same number of client namespaces on veths to it. Rounds alternate
 * which goes first. Figures are printed, never asserted.
 *
 *   node dist/bench/dhcp.js [--count 50] [--rounds 2]
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/base/table.js';
import { DhclientFleet, type Leased } from './lib/dhclient.js';
import { addNamespaces, background, inNs, sh, shMaybe } from './lib/kernel.js';
import { intArg, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { fmt, LATENCY_HEADERS, latencyRow, percentiles, type Percentiles } from './lib/stats.js';
import { startRig, TENANT, type Rig } from './lib/tenet.js';

runBench('dhcp', body);

const LEASE_LIMIT_MS = 60_000;
const REF_NET = '10.238.0';

async function body(cleanup: Cleanup): Promise<void> {
  const count = intArg('count', 50, 200);
  const rounds = intArg('rounds', 2, 10);
  printReproduce('dhcp', `--count ${count} --rounds ${rounds}`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rig = await startRig('bdhc', 1, '10.237.0.0/24', cleanup);
  const tenetNs = await tenetContainers(rig, count, cleanup);
  const refNs = await dnsmasqBridge(rig, count, cleanup);
  const fleet = new DhclientFleet(rig.dir);
  cleanup.add('stop dhclients', () => fleet.stopAll());
  const kinds = [
    { name: 'tenet agent', ns: tenetNs, kernelNs: `${rig.prefix}-h1-${TENANT}`, times: [] as number[], exchanges: [] as number[], tried: 0 },
    { name: 'dnsmasq', ns: refNs, kernelNs: `${rig.prefix}-rbr`, times: [] as number[], exchanges: [] as number[], tried: 0 },
  ];
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < kinds.length; j++) {
      cleanup.check();
      const k = kinds[(r + j) % kinds.length]!;
      await unconfigure(k.ns);
      const before = await kernelCounts(k.kernelNs);
      const got = await fleet.leaseAll(`${r}-${j}-`, k.ns, LEASE_LIMIT_MS);
      const after = await kernelCounts(k.kernelNs);
      k.tried += got.length;
      const ok = got.filter((x): x is Leased => x !== undefined);
      k.times.push(...ok.map((x) => x.lease));
      k.exchanges.push(...ok.map((x) => x.exchange));
      console.log(`round ${r + 1} ${k.name}: ${ok.length}/${got.length} leased, the last after ${fmt(ok.length < got.length ? Infinity : Math.max(...ok.map((x) => x.lease)), 0)} ms; ${firstTry(ok)}; ${countsDelta(before, after)}`);
    }
  }
  console.log(`\nISC dhclient in ${count} namespaces started at once, ${rounds} round(s); ms from the common start until each logged "bound to"`);
  const rows = kinds.flatMap((k) => [latencyRow(`${k.name}: until leased`, k.times, k.tried), latencyRow(`${k.name}: its DISCOVER until leased`, k.exchanges, k.tried)]);
  process.stdout.write(formatTable(LATENCY_HEADERS, rows));
  const [t, d] = kinds.map((k) => percentiles(k.times)) as [Percentiles, Percentiles];
  const [te, de] = kinds.map((k) => percentiles(k.exchanges)) as [Percentiles, Percentiles];
  console.log(`tenet / dnsmasq, until leased: p50 ${fmt(t.p50 / d.p50)}, p99 ${fmt(t.p99 / d.p99)}; DISCOVER until leased: p50 ${fmt(te.p50 / de.p50)}, p99 ${fmt(te.p99 / de.p99)}`);
  dhcpDrops(rig);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

/** How many clients were leased on their first DISCOVER (dhclient logs each one it sends). */
function firstTry(ok: Leased[]): string {
  const retried = ok.filter((x) => x.discovers > 1);
  return `${ok.length - retried.length} leased on their first DISCOVER, ${retried.length} needed more (max ${Math.max(0, ...ok.map((x) => x.discovers))})`;
}

const WATCHED = ['UdpRcvbufErrors', 'UdpInErrors', 'UdpNoPorts', 'UdpInDatagrams', 'UdpOutDatagrams'];

/** The server namespace's UDP counters and, in Tenet's, the dhcp-flood meter's drops. */
async function kernelCounts(ns: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const snmp = await shMaybe(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp']);
  const udp = snmp.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  if (udp.length >= 2) {
    const [names, values] = udp.map((l) => l.split(/\s+/).slice(1)) as [string[], string[]];
    names.forEach((n, i) => WATCHED.includes(`Udp${n}`) && out.set(`Udp${n}`, Number(values[i])));
  }
  const nft = await shMaybe(['ip', 'netns', 'exec', ns, 'nft', 'list', 'chain', 'bridge', 'tenet', 'prerouting']);
  const flood = /dhcp-flood.*counter packets (\d+)/.exec(nft.stdout);
  if (flood) out.set('dhcp-flood drops', Number(flood[1]));
  return out;
}

function countsDelta(a: Map<string, number>, b: Map<string, number>): string {
  return [...b].map(([k, v]) => `${k} +${v - (a.get(k) ?? 0)}`).join(', ');
}

/** What the agent's DHCP server said it dropped (its counts are logged at most every 10 s). */
function dhcpDrops(rig: Rig): void {
  const log = join(rig.lab.config.labDir, `${rig.prefix}-h1.log`);
  const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /DHCP/.test(l) && /limited|dropped|not sent/.test(l)) : [];
  console.log(`agent log, DHCP drops and failed replies: ${lines.length} line(s)${lines.length ? `, last: ${lines[lines.length - 1]!.slice(0, 300)}` : ''}`);
}

/** `count` lab containers attached through the agent, 5 at a time. */
async function tenetContainers(rig: Rig, count: number, cleanup: Cleanup): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i += 5) {
    cleanup.check();
    const batch = Array.from({ length: Math.min(5, count - i) }, (_, j) => rig.container('h1', `d${i + j}`));
    out.push(...(await Promise.all(batch)).map((c) => c.ns));
  }
  return out;
}

/** What `tenet lab run --dhcp` does before udhcpc: no address, Ethernet's MTU. */
async function unconfigure(namespaces: string[]): Promise<void> {
  await Promise.all(namespaces.map((ns) => sh(['ip', '-n', ns, 'addr', 'flush', 'dev', 'eth0']).then(() => sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'mtu', '1500']))));
}

/** A bridge namespace running dnsmasq with one fixed address per client MAC, and `count` client namespaces. */
async function dnsmasqBridge(rig: Rig, count: number, cleanup: Cleanup): Promise<string[]> {
  const br = `${rig.prefix}-rbr`;
  const clients = Array.from({ length: count }, (_, i) => `${rig.prefix}-r${i}`);
  await addNamespaces([br, ...clients]);
  const mac = (i: number) => `02:42:0a:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
  const batch = [`link add br0 type bridge`, `addr add ${REF_NET}.1/24 dev br0`, `link set br0 up`];
  clients.forEach((ns, i) => batch.push(`link add r${i} type veth peer name eth0 address ${mac(i)} netns ${ns}`, `link set r${i} master br0 up`));
  await sh(['ip', '-n', br, '-batch', '-'], `${batch.join('\n')}\n`);
  await Promise.all(clients.map((ns) => sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])));
  const hosts = clients.map((_, i) => `--dhcp-host=${mac(i)},${REF_NET}.${10 + i}`);
  const argv = ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--interface=br0', '--bind-interfaces', `--dhcp-range=${REF_NET}.0,static,255.255.255.0,1h`,
    '--no-ping', `--dhcp-leasefile=${join(rig.dir, 'dnsmasq.leases')}`, `--dhcp-option=option:router,${REF_NET}.1`, `--dhcp-option=option:dns-server,${REF_NET}.1`, '--user=root', '--pid-file=', ...hosts];
  const proc = background(inNs(br, argv));
  cleanup.add('stop dnsmasq', () => proc.stop());
  void proc.exited.then((code) => code !== 0 && !cleanup.stopped && console.error(`dnsmasq exited ${code}: ${proc.output().trim()}`));
  return clients;
}
