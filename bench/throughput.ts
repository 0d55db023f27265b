/**
 * Throughput (issue #2): single-stream TCP between containers on two lab hosts over Tenet's
 * VXLAN overlay, as a ratio to a raw kernel VXLAN path of the same shape that this script
 * builds by hand in the same run (bench/lib/rawvxlan.ts). Goal: tenet/raw ≥ 0.95.
 *
 * Rounds interleave the two paths and alternate which goes first, so slow drift on this
 * shared 2-vCPU machine hits both alike. Each round: iperf3 -t 5, then ping RTT (avg of 20).
 * Figures are printed, never asserted.
 *
 *   node dist/bench/throughput.js [--rounds 3]
 */
import { formatTable } from '../src/base/table.js';
import { iperf, type IperfResult, type Side } from './lib/iperf.js';
import { inNs, now, pingRtt, sh, waitReachable } from './lib/kernel.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import { buildRawVxlan } from './lib/rawvxlan.js';
import { fmt, median, medianRange, ratio } from './lib/stats.js';
import { startRig } from './lib/tenet.js';

type PathName = 'raw' | 'tenet';
interface Path {
  client: Side;
  server: Side;
}
type Sample = IperfResult & { rtt: number };

runBench('throughput', async (cleanup) => {
  const rounds = intArg('rounds', 3, 20);
  printReproduce('throughput', `--rounds ${rounds}`);
  const rig = await startRig('bt', 2, '10.95.0.0/24', cleanup);
  const c1 = await rig.container('h1', 'c1');
  const c2 = await rig.container('h2', 'c2');
  const raw = await buildRawVxlan(rig.prefix);
  const paths: Record<PathName, Path> = {
    raw: { client: raw.client, server: raw.server },
    tenet: { client: { ns: c1.ns, ip: c1.ep.ip }, server: { ns: c2.ns, ip: c2.ep.ip } },
  };
  for (const [name, p] of Object.entries(paths)) {
    if ((await waitReachable(p.client.ns, p.server.ip, now())) === undefined) throw new Error(`${name}: ${p.client.ns} does not reach ${p.server.ip}`);
    console.log(`${name}: ${p.client.ns} (${p.client.ip}, MTU ${await mtu(p.client.ns)}) -> ${p.server.ns} (${p.server.ip}, MTU ${await mtu(p.server.ns)})`);
    await iperf(p.client, p.server, 1); // warm-up, not counted: ARP, caches, agents settled
  }

  const samples: Record<PathName, Sample[]> = { raw: [], tenet: [] };
  for (let r = 0; r < rounds; r++) {
    const order: PathName[] = r % 2 === 0 ? ['raw', 'tenet'] : ['tenet', 'raw'];
    for (const name of order) {
      cleanup.check();
      const p = paths[name];
      const s = { ...(await iperf(p.client, p.server)), rtt: await pingRtt(p.client.ns, p.server.ip) };
      samples[name].push(s);
      console.log(
        `round ${r + 1} ${name.padEnd(5)} ${fmt(s.gbps)} Gbit/s  RTT ${fmt(s.rtt, 3)} ms  retransmits ${s.retransmits}  ` +
          `iperf3 CPU sender ${fmt(s.cpuSender, 0)}% receiver ${fmt(s.cpuReceiver, 0)}%`,
      );
    }
  }
  report(samples, rounds);
});

async function mtu(ns: string): Promise<number> {
  const r = await sh(inNs(ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0']));
  return (JSON.parse(r.stdout) as { mtu: number }[])[0]!.mtu;
}

function report(samples: Record<PathName, Sample[]>, rounds: number): void {
  const col = (name: PathName, f: (s: Sample) => number) => samples[name].map(f);
  const rows = (['raw', 'tenet'] as const).map((name) => [
    name === 'raw' ? 'raw kernel VXLAN (baseline)' : 'tenet overlay',
    medianRange(col(name, (s) => s.gbps)),
    medianRange(col(name, (s) => s.rtt), 3),
    fmt(median(col(name, (s) => s.retransmits)), 0),
    `${fmt(median(col(name, (s) => s.cpuSender)), 0)}% / ${fmt(median(col(name, (s) => s.cpuReceiver)), 0)}%`,
  ]);
  console.log(`\nsingle-stream TCP, cross-host, container MTU 1450 over underlay MTU 1500; ${rounds} round(s), median [min–max]`);
  process.stdout.write(formatTable(['datapath', 'TCP Gbit/s', 'RTT ms', 'retransmits/5 s', 'iperf3 CPU snd/rcv'], rows));
  const med = (name: PathName, f: (s: Sample) => number) => median(col(name, f));
  const tput = ratio(med('tenet', (s) => s.gbps), med('raw', (s) => s.gbps));
  const rtt = ratio(med('tenet', (s) => s.rtt), med('raw', (s) => s.rtt));
  console.log(`ratio tenet/raw of medians: throughput ${tput} (goal >= 0.95), RTT ${rtt}`);
  // Each round measures both paths back to back; their ratio cancels drift slower than a round.
  const paired = samples.tenet.map((t, i) => t.gbps / samples.raw[i]!.gbps);
  console.log(`throughput ratio tenet/raw within each round: ${paired.map((x) => fmt(x)).join(', ')}; median [min–max] ${medianRange(paired)}`);
}
