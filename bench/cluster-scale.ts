/**
 * The control-plane scale benchmark (bench/scale.ts, issue 6) on etcd with 2 controller
 * replicas (the simulated agents' processes split across them), next to the same benchmark
 * on SQLite with one controller, in the same run (issue 11). Each is its own `scale.js`
 * process with its own controllers, etcd and cleanup (SQLite first, then etcd); their full
 * output is shown, then the headline figures side by side. A signal is passed on, by PID, to
 * the running one, which removes what it made; no further one starts.
 *
 *   node dist/bench/cluster-scale.js [--hosts 40 --endpoints 2000 --tenants 40 --seconds 20]
 *        [--controllers 2] [other scale.js knobs are passed on: --procs --changes --attaches]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/base/table.js';
import { loadText } from './lib/cluster.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import type { ScaleSummary } from './lib/scale-summary.js';
import { fmt } from './lib/stats.js';
import { stopChild } from './lib/tenet.js';

const SCRIPT = fileURLToPath(new URL('./scale.js', import.meta.url));

runBench('cluster-scale', async (cleanup) => {
  const knobs = {
    hosts: intArg('hosts', 40, 5000),
    endpoints: intArg('endpoints', 2000, 1_000_000),
    tenants: intArg('tenants', 40, 100_000),
    seconds: intArg('seconds', 20, 3600),
    procs: intArg('procs', 2, 32),
    changes: intArg('changes', 20, 1000),
    attaches: intArg('attaches', 20, 1000),
  };
  const controllers = intArg('controllers', 2, 5);
  const args = Object.entries(knobs).flatMap(([k, v]) => [`--${k}`, String(v)]);
  printReproduce('cluster-scale', `${args.join(' ')} --controllers ${controllers}`);
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-cluster-scale-'));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const runs: { label: string; extra: string[]; load: string[] }[] = [
    { label: 'SQLite, 1 controller', extra: ['--store', 'sqlite'], load: [] },
    { label: `etcd (3 members), ${controllers} controllers`, extra: ['--store', 'etcd', '--controllers', String(controllers)], load: [] },
  ];
  const out: (ScaleSummary | undefined)[] = [];
  for (const [i, r] of runs.entries()) {
    cleanup.check();
    const json = join(dir, `run${i}.json`);
    console.log(`\n===== scale.js ${[...args, ...r.extra].join(' ')} (${loadText()}) =====`);
    r.load.push(loadText());
    const child = spawn(process.execPath, [SCRIPT, ...args, ...r.extra, '--json', json], { stdio: 'inherit' });
    cleanup.add(`stop scale.js pid ${child.pid}`, () => stopChild(child));
    const code = await exited(child);
    r.load.push(loadText());
    // A run that broke is shown as such beside the other one (its output above says where).
    if (code !== 0) console.log(`scale.js (${r.label}) exited ${code}: its column is '-'`);
    out.push(code === 0 ? (JSON.parse(readFileSync(json, 'utf8')) as ScaleSummary) : undefined);
  }
  report(runs.map((r) => r.label), out);
  runs.forEach((r) => console.log(`${r.label}: ${r.load[0]} at its start, ${r.load[1]} at its end`));
  if (out.some((x) => !x)) throw new Error('a scale.js run broke (its output above says where)');
});

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (code) => resolve(code ?? 1));
  });
}

function report(labels: string[], [a0, b0]: (ScaleSummary | undefined)[]): void {
  const a = a0 ?? BROKE;
  const b = b0 ?? BROKE;
  const row = (what: string, x: number, y: number, digits = 1) => [what, fmt(x, digits), fmt(y, digits), fmt(y / x, 2)];
  const phase = (s: ScaleSummary, prefix: string) => s.phases.find((p) => p.name.startsWith(prefix));
  const rows = [
    row('populate: endpoints per second (API, 32 in flight)', a.endpointsPerSecond, b.endpointsPerSecond, 0),
    row('populate: every status set up, s', a.statusUpSeconds, b.statusUpSeconds),
    row('every agent started and listed, s', a.listedSeconds, b.listedSeconds),
    row('fan-out p50, ms (created → every concerned agent has it)', a.fanoutP50Ms, b.fanoutP50Ms),
    row('fan-out p99, ms', a.fanoutP99Ms, b.fanoutP99Ms),
    row('marker create API call p50, ms', a.markerApiP50Ms, b.markerApiP50Ms),
    row('attach p50 on an empty controller, ms', a.attachEmptyP50Ms, b.attachEmptyP50Ms),
    row('attach p50 at scale, ms', a.attachFullP50Ms, b.attachFullP50Ms),
    row('re-list of one agent, median of 3, ms', med(a.relistMs), med(b.relistMs), 0),
    row('controller (first) CPU % during the window', phase(a, 'steady')?.cpuMeanPct ?? NaN, phase(b, 'steady')?.cpuMeanPct ?? NaN, 0),
    row('controller (first) RSS peak MiB while agents list', phase(a, 'agents')?.rssPeakMiB ?? NaN, phase(b, 'agents')?.rssPeakMiB ?? NaN, 0),
  ];
  console.log(`\nscale.js on both stores, same run (fan-out complete: ${a.fanoutComplete} / ${b.fanoutComplete})`);
  process.stdout.write(formatTable(['figure', labels[0]!, labels[1]!, 'etcd / SQLite'], rows));
}

const med = (xs: number[]) => (xs.length ? [...xs].sort((x, y) => x - y)[xs.length >> 1]! : NaN);

/** The figures of a run that broke: every one unknown. */
const BROKE: ScaleSummary = {
  store: '-',
  controllers: 0,
  endpointsPerSecond: NaN,
  statusUpSeconds: NaN,
  listedSeconds: NaN,
  fanoutP50Ms: NaN,
  fanoutP99Ms: NaN,
  fanoutComplete: 'broke',
  markerApiP50Ms: NaN,
  attachEmptyP50Ms: NaN,
  attachFullP50Ms: NaN,
  relistMs: [],
  phases: [],
};
