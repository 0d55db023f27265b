/** The tables `bench/scale.ts` prints: figures only, never a verdict. */
import { fmt, percentile } from '../lib/stats.js';
import type { MarkerResult } from './markers.js';
import { ARRIVAL_BOUND_MS } from './markers.js';
import type { PhaseFigures, Sampler } from './procstat.js';
import type { Counters } from './protocol.js';

export interface Phase {
  name: string;
  figures: PhaseFigures | undefined;
}

function table(headers: string[], rows: (string | number)[][]): void {
  console.log(`| ${headers.join(' | ')} |`);
  console.log(`|${headers.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('');
}

export function printPhases(phases: Phase[], sampler: Sampler): void {
  console.log('Controller process (RSS from /proc/PID/status, CPU from /proc/PID/stat, sampled every 1 s; CPU in % of one core)');
  table(
    ['phase', 'seconds', 'RSS peak MiB', 'RSS at end MiB', 'CPU mean %', 'CPU peak %'],
    phases.map(({ name, figures: f }) => (f ? [name, fmt(f.seconds, 1), fmt(f.rssPeakMiB, 0), fmt(f.rssEndMiB, 0), fmt(f.cpuMeanPct, 0), fmt(f.cpuPeakPct, 0)] : [name, '-', '-', '-', '-', '-'])),
  );
  const all = sampler.samples;
  if (all.length) console.log(`controller RSS peak over the whole run: ${fmt(Math.max(...all.map((x) => x.rssMiB)), 0)} MiB\n`);
}

export function printFanout(results: MarkerResult[]): void {
  console.log(`Fan-out: endpoint created through the API → every agent of a host carrying its tenant has it (bound ${ARRIVAL_BOUND_MS / 1000} s)`);
  const row = (name: string, rs: MarkerResult[]) => {
    const ok = rs.filter((r) => Number.isFinite(r.allMs)).map((r) => r.allMs);
    const hosts = rs.map((r) => r.concerned);
    return [name, `${ok.length}/${rs.length}`, hosts.length ? `${Math.min(...hosts)}–${Math.max(...hosts)}` : '-', fmt(percentile(ok, 50), 1), fmt(percentile(ok, 99), 1), fmt(percentile(ok, 100), 1), fmt(percentile(rs.map((r) => r.apiMs), 50), 1)];
  };
  const tiers = ['large', 'medium', 'small'].map((t) => row(t, results.filter((r) => r.marker.tenant.tier === t)));
  table(['tenants', 'complete', 'agents concerned', 'p50 ms', 'p99 ms', 'max ms', 'API call p50 ms'], [row('all', results), ...tiers]);
  const late = results.filter((r) => !Number.isFinite(r.allMs));
  if (late.length) console.log(`incomplete: ${late.map((r) => `${r.marker.id} ${r.arrived}/${r.concerned}`).join(', ')}\n`);
}

export function printUninvolved(counters: Map<string, Counters>, uninvolved: string[], probes: string[], windowS: number): void {
  const perMin = (x: number) => (x / windowS) * 60;
  const un = uninvolved.map((h) => counters.get(h)).filter((c): c is Counters => !!c);
  const involved = [...counters.entries()].filter(([h]) => !uninvolved.includes(h)).map(([, c]) => c);
  const total = (c: Counters) => Object.values(c.messages).reduce((a, b) => a + b, 0);
  const events = (c: Counters) => Object.entries(c.messages).filter(([k]) => k.startsWith('put ') || k.startsWith('delete ')).reduce((a, [, v]) => a + v, 0);
  const bytes = probes.filter((h) => uninvolved.includes(h)).map((h) => counters.get(h)?.bytes ?? NaN).filter(Number.isFinite);
  console.log(`What an agent receives per minute during the ${fmt(windowS, 0)} s window (uninvolved: no change touched a tenant of its host)`);
  const row = (name: string, cs: Counters[], b: number[]) => [
    name,
    cs.length,
    fmt(perMin(percentile(cs.map(events), 50)), 1),
    fmt(perMin(percentile(cs.map(events), 100)), 1),
    fmt(perMin(percentile(cs.map(total), 50)), 1),
    b.length ? fmt(perMin(percentile(b, 50)) / 1024, 1) : '-',
    fmt(percentile(cs.map((c) => c.lists), 100), 0),
  ];
  table(['agents', 'n', 'events p50 /min', 'events max /min', 'all messages p50 /min', 'KiB p50 /min (probes)', 'lists max'], [row('uninvolved', un, bytes), row('involved', involved, [])]);
  const kinds = new Map<string, number>();
  for (const c of un) for (const [k, v] of Object.entries(c.messages)) kinds.set(k, (kinds.get(k) ?? 0) + v);
  if (un.length) console.log(`uninvolved agents, mean per agent per minute by message: ${[...kinds].map(([k, v]) => `${k} ${fmt(perMin(v / un.length), 1)}`).join(', ')}\n`);
}

export function printRelists(rs: { host: string; tenants: number; ms: number; bytes: number }[]): void {
  console.log('Full re-list of one agent (agent restarted: start → its cache holds the list; bytes = JSON length of the list)');
  table(['host', 'tenants on it', 'ms', 'KiB'], rs.map((r) => [r.host, r.tenants, fmt(r.ms, 0), fmt(r.bytes / 1024, 0)]));
}

export function printAttach(empty: { ms: number[] }, full: { ms: number[]; listMs: number }, tenant: string, size: number): void {
  const e = percentile(empty.ms, 50);
  const f = percentile(full.ms, 50);
  console.log(`Attach (real attach() on a fake kernel, into ${tenant}, ${size} endpoints at scale): empty controller p50 ${fmt(e, 1)} ms (p99 ${fmt(percentile(empty.ms, 99), 1)}), at scale p50 ${fmt(f, 1)} ms (p99 ${fmt(percentile(full.ms, 99), 1)}); ratio ${fmt(f / e, 2)}; the attach agent's first list at scale took ${fmt(full.listMs, 0)} ms\n`);
}

export function printSims(rss: { now: number; peak: number }[], hosts: number): void {
  const peak = rss.reduce((a, r) => a + r.peak, 0);
  console.log(`Simulated-agent processes: ${rss.length}, RSS now ${rss.map((r) => fmt(r.now, 0)).join(' / ')} MiB, peak ${rss.map((r) => fmt(r.peak, 0)).join(' / ')} MiB; ${fmt(peak / hosts, 1)} MiB per agent at peak\n`);
}
