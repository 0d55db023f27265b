/**
 * Attach throughput and latency in cluster mode (issue 11), as a ratio to SQLite measured in
 * the same run: two labs of 4 hosts side by side, one on a single SQLite controller (the
 * baseline), one on a 3-member etcd with 2 controller replicas whose agents are given both.
 * Each round runs, per store (order alternating between rounds):
 *   - serial: --serial attaches one at a time, the hosts in turn: latency alone;
 *   - concurrent: --count attaches from the 4 hosts at once, --width in flight per host:
 *     attaches per second (wall time of the batch) and latency under that load.
 * Attaches are handoff attaches (the agent makes the interface pair, as a runtime's plugin
 * asks), so no namespace per workload is needed. Figures are printed, never asserted.
 *
 *   node dist/bench/cluster-attach.js [--count 200 --width 8 --serial 40 --rounds 2]
 */
import { formatTable } from '../src/base/table.js';
import type { AgentClient } from '../src/api/client.js';
import { loadText, startClusterRig } from './lib/cluster.js';
import { now } from './lib/kernel.js';
import { intArg, message, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { fmt, median, medianRange, percentile } from './lib/stats.js';
import { NETWORK, startRig, TENANT } from './lib/tenet.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];

interface Side {
  name: string;
  agent(host: string): AgentClient;
  serialMs: number[];
  concMs: number[];
  perSecond: number[];
  errors: string[];
}

runBench('cluster-attach', async (cleanup) => {
  const count = intArg('count', 200, 2000);
  const width = intArg('width', 8, 64);
  const serial = intArg('serial', 40, 1000);
  const rounds = intArg('rounds', 2, 10);
  printReproduce('cluster-attach', `--count ${count} --width ${width} --serial ${serial} --rounds ${rounds}`);
  console.log(`start: ${loadText()}`);
  const sqlite = await startRig('cas', HOSTS.length, '10.151.0.0/16', cleanup);
  const etcd = await startClusterRig('cae', HOSTS.length, 2, '10.152.0.0/16', cleanup);
  const sides: Side[] = [
    { name: 'SQLite, 1 controller', agent: sqlite.agent, serialMs: [], concMs: [], perSecond: [], errors: [] },
    { name: 'etcd (3 members), 2 controllers', agent: etcd.agent, serialMs: [], concMs: [], perSecond: [], errors: [] },
  ];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...sides].reverse() : sides;
    for (const side of order) {
      cleanup.check();
      await runSerial(side, serial, cleanup);
      const s = await runConcurrent(side, count, width, cleanup);
      console.log(`round ${r + 1}/${rounds}, ${side.name}: ${serial} serial, ${count} concurrent at ${fmt(s, 1)}/s; ${loadText()}`);
    }
  }
  report(sides, count, width, serial, rounds);
  console.log(`end: ${loadText()}`);
});

async function attachOne(side: Side, host: string, into: number[]): Promise<void> {
  const t0 = now();
  try {
    await side.agent(host).attach({ tenant: TENANT, network: NETWORK, handoff: true });
    into.push(now() - t0);
  } catch (err) {
    side.errors.push(`${host}: ${message(err)}`);
  }
}

async function runSerial(side: Side, n: number, cleanup: Cleanup): Promise<void> {
  for (let i = 0; i < n; i++) {
    cleanup.check();
    await attachOne(side, HOSTS[i % HOSTS.length]!, side.serialMs);
  }
}

/** `n` attaches split over the hosts, `width` in flight per host; returns attaches per second. */
async function runConcurrent(side: Side, n: number, width: number, cleanup: Cleanup): Promise<number> {
  const left = new Map(HOSTS.map((h, i) => [h, Math.floor(n / HOSTS.length) + (i < n % HOSTS.length ? 1 : 0)]));
  const worker = async (host: string) => {
    while (left.get(host)! > 0) {
      cleanup.check();
      left.set(host, left.get(host)! - 1);
      await attachOne(side, host, side.concMs);
    }
  };
  const t0 = now();
  const before = side.concMs.length;
  await Promise.all(HOSTS.flatMap((h) => Array.from({ length: width }, () => worker(h))));
  const rate = (side.concMs.length - before) / ((now() - t0) / 1000);
  side.perSecond.push(rate);
  return rate;
}

function report(sides: Side[], count: number, width: number, serial: number, rounds: number): void {
  const [base, cl] = sides as [Side, Side];
  const p = (xs: number[], q: number) => fmt(percentile(xs, q), 1);
  console.log(`\nattaches through the agents of 4 lab hosts, ${rounds} rounds per store (order alternating); nearest-rank percentiles in ms`);
  process.stdout.write(
    formatTable(
      ['store', 'serial ok', 'serial p50', 'serial p99', `concurrent ok (4×${width} in flight)`, 'conc. p50', 'conc. p99', 'attaches/s median [min–max]'],
      sides.map((s) => [s.name, `${s.serialMs.length}/${serial * rounds}`, p(s.serialMs, 50), p(s.serialMs, 99), `${s.concMs.length}/${count * rounds}`, p(s.concMs, 50), p(s.concMs, 99), medianRange(s.perSecond, 1)]),
    ),
  );
  const r = (a: number, b: number) => fmt(a / b, 2);
  console.log('\nratio etcd / SQLite (latency: >1 is slower; throughput: <1 is fewer per second)');
  process.stdout.write(
    formatTable(
      ['what', 'ratio'],
      [
        ['serial attach p50', r(percentile(cl.serialMs, 50), percentile(base.serialMs, 50))],
        ['serial attach p99', r(percentile(cl.serialMs, 99), percentile(base.serialMs, 99))],
        ['concurrent attach p50', r(percentile(cl.concMs, 50), percentile(base.concMs, 50))],
        ['concurrent attach p99', r(percentile(cl.concMs, 99), percentile(base.concMs, 99))],
        ['attaches per second (medians)', r(median(cl.perSecond), median(base.perSecond))],
      ],
    ),
  );
  for (const s of sides) if (s.errors.length) console.log(`${s.name}: ${s.errors.length} failed, first: ${s.errors[0]}`);
  console.log(`failures: SQLite ${base.errors.length}, etcd ${cl.errors.length}`);
}
