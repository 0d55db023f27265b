/**
 * Tenet's DNS against dnsmasq (issue 10), in the same run, from the same workload namespace,
 * with the same query mix: a one-host lab, named containers t0..t3 (Tenet's records), and a
 * workload w1. dnsmasq runs in a namespace of the benchmark's own, reached from w1 over a veth
 * of its own, and serves the same names and reverse records from a hosts file. Each round
 * sends one bounded burst to each server, in alternating order (`--count` queries, `--inflight`
 * outstanding, 1 s timeout each) from a small UDP client started in w1 (bench/lib/dns-load.ts);
 * queries per second is answers / the burst's wall time. Figures are printed, never asserted.
 *
 * Tenet limits each source to 200 queries/s, burst 400 (agent) and 400/s, burst 800 (kernel):
 * a burst of at most 400 from one workload measures the server, not the limit; the rounds
 * are 2.5 s apart so the bucket is full again.
 *
 *   node dist/bench/dns.js [--rounds 5] [--count 300] [--inflight 16]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/base/table.js';
import { waitFor } from '../src/base/async.js';
import type { LoadResult } from './lib/dns-load.js';
import { addNamespaces, background, inNs, sh, shMaybe } from './lib/kernel.js';
import { intArg, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { fmt, median, medianRange, percentile } from './lib/stats.js';
import { startRig } from './lib/tenet.js';

runBench('dns', body);

const LOAD = fileURLToPath(new URL('./lib/dns-load.js', import.meta.url));
const VETH = { workload: '10.236.0.1', dnsmasq: '10.236.0.2' };
const TARGETS = ['t0', 't1', 't2', 't3'];

async function body(cleanup: Cleanup): Promise<void> {
  const rounds = intArg('rounds', 5, 50);
  const count = intArg('count', 300, 400);
  const inflight = intArg('inflight', 16, 64);
  printReproduce('dns', `--rounds ${rounds} --count ${count} --inflight ${inflight}`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rig = await startRig('bdns', 1, '10.235.0.0/24', cleanup);
  const ips = new Map<string, string>();
  for (const t of TARGETS) ips.set(t, (await rig.container('h1', t)).ep.ip);
  const { ns: workload, ep } = await rig.container('h1', 'w1');
  const dnsmasqNs = `${rig.prefix}-dnsm`;
  await startDnsmasq(rig.dir, workload, dnsmasqNs, ips, cleanup);
  const mix = queryMix(ips);
  const servers = [
    { name: `tenet (gateway ${ep.gateway})`, ip: ep.gateway, runs: [] as LoadResult[] },
    { name: 'dnsmasq (own veth)', ip: VETH.dnsmasq, runs: [] as LoadResult[] },
  ];
  for (const s of servers) await waitAnswer(workload, s.ip);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < servers.length; j++) {
      cleanup.check();
      const s = servers[(r + j) % servers.length]!;
      await new Promise((res) => setTimeout(res, 2500)); // Tenet's per-source bucket refills
      s.runs.push(await burst(workload, s.ip, count, inflight, mix));
    }
  }
  report(servers, count, inflight, mix);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

/** Short, network-qualified and fully qualified names, a PTR, and an unknown name (NXDOMAIN). */
function queryMix(ips: Map<string, string>): string[] {
  return ['t0', 't1.net', 't2.net.bench', `-x ${ips.get('t3')}`, 'nobody.net.bench'];
}

/** dnsmasq in its own namespace on a veth from the workload, serving the same records from a hosts file. */
async function startDnsmasq(dir: string, workload: string, ns: string, ips: Map<string, string>, cleanup: Cleanup): Promise<void> {
  await addNamespaces([ns]);
  await sh(['ip', '-n', workload, 'link', 'add', 'dq0', 'type', 'veth', 'peer', 'name', 'dq1', 'netns', ns]);
  await sh(['ip', '-n', workload, 'addr', 'add', `${VETH.workload}/30`, 'dev', 'dq0']);
  await sh(['ip', '-n', ns, 'addr', 'add', `${VETH.dnsmasq}/30`, 'dev', 'dq1']);
  await sh(['ip', '-n', workload, 'link', 'set', 'dq0', 'up']);
  await sh(['ip', '-n', ns, 'link', 'set', 'dq1', 'up']);
  const hosts = join(dir, 'dnsmasq.hosts');
  // The fully qualified name first: dnsmasq answers a PTR with the first name of the line, as Tenet does.
  writeFileSync(hosts, [...ips].map(([n, ip]) => `${ip} ${n}.net.bench ${n}.net ${n}\n`).join(''));
  const argv = ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--local=/bench/', `--listen-address=${VETH.dnsmasq}`, '--bind-interfaces', '--user=root', '--pid-file=', '--cache-size=1000'];
  const proc = background(inNs(ns, argv));
  cleanup.add('stop dnsmasq', () => proc.stop());
  void proc.exited.then((code) => code !== 0 && !cleanup.stopped && console.error(`dnsmasq exited ${code}: ${proc.output().trim()}`));
}

async function waitAnswer(ns: string, server: string): Promise<void> {
  const ok = async () => /status: NOERROR/.test((await shMaybe(inNs(ns, ['dig', `@${server}`, '+time=1', '+tries=1', 't0']))).stdout) || undefined;
  await waitFor(ok, 60_000, `a DNS answer from ${server}`, 300);
}

async function burst(ns: string, server: string, count: number, inflight: number, mix: string[]): Promise<LoadResult> {
  const r = await sh(inNs(ns, [process.execPath, LOAD, '--server', server, '--count', String(count), '--inflight', String(inflight), '--timeout-ms', '1000', '--names', mix.join(',')]));
  return JSON.parse(r.stdout) as LoadResult;
}

function report(servers: { name: string; runs: LoadResult[] }[], count: number, inflight: number, mix: string[]): void {
  console.log(`\n${servers[0]!.runs.length} rounds × ${count} queries, ${inflight} in flight, from one workload; mix: ${mix.join(', ')}`);
  const qps = (r: LoadResult) => (r.latencies.length / r.wallMs) * 1000;
  const rows = servers.map((s) => {
    const rcodes: Record<string, number> = {};
    for (const r of s.runs) for (const [k, v] of Object.entries(r.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
    return [
      s.name,
      medianRange(s.runs.map(qps), 0),
      medianRange(s.runs.map((r) => percentile(r.latencies, 50)), 2),
      medianRange(s.runs.map((r) => percentile(r.latencies, 99)), 2),
      String(s.runs.reduce((a, r) => a + r.lost, 0)),
      Object.entries(rcodes).map(([k, v]) => `${k} ${v}`).join(', '),
    ];
  });
  process.stdout.write(formatTable(['server', 'queries/s, median [range]', 'p50 ms', 'p99 ms', 'lost', 'rcodes'], rows));
  const [t, d] = servers.map((s) => ({ qps: median(s.runs.map(qps)), p50: median(s.runs.map((r) => percentile(r.latencies, 50))), p99: median(s.runs.map((r) => percentile(r.latencies, 99))) })) as [{ qps: number; p50: number; p99: number }, { qps: number; p50: number; p99: number }];
  console.log(`tenet / dnsmasq: queries/s ${fmt(t.qps / d.qps)}, p50 latency ${fmt(t.p50 / d.p50)}, p99 latency ${fmt(t.p99 / d.p99)} (medians of the rounds)`);
}
