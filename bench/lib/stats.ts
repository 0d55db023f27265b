/** Summaries the benchmarks print: medians with their range, nearest-rank percentiles, ratios. */

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** Nearest-rank percentile: the smallest value with at least p% of the values at or below it. */
export function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  return s[Math.max(1, Math.ceil((p / 100) * s.length)) - 1]!;
}

export function median(xs: number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** "median [min–max]", the form of research/baseline.md. */
export function medianRange(xs: number[], digits = 2): string {
  if (xs.length === 0) return '-';
  const s = sorted(xs);
  return `${fmt(median(s), digits)} [${fmt(s[0]!, digits)}–${fmt(s[s.length - 1]!, digits)}]`;
}

export const ratio = (a: number, b: number, digits = 2): string => fmt(a / b, digits);

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(xs: number[]): Percentiles {
  return { n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: percentile(xs, 100) };
}

/**
 * One row of a latency table: name, samples that succeeded of those tried, p50/p95/p99/max
 * in ms, and the p50 of the first and last quarter (does it grow as endpoints accumulate?).
 */
export function latencyRow(name: string, xs: number[], tried: number, digits = 1): (string | number)[] {
  const p = percentiles(xs);
  return [name, `${p.n}/${tried}`, fmt(p.p50, digits), fmt(p.p95, digits), fmt(p.p99, digits), fmt(p.max, digits), trend(xs, digits)];
}

export const LATENCY_HEADERS = ['what', 'ok', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p50 1st → last quarter'];

export function ratioRow(name: string, a: number[], b: number[]): string[] {
  const pa = percentiles(a);
  const pb = percentiles(b);
  return [name, ratio(pa.p50, pb.p50), ratio(pa.p95, pb.p95), ratio(pa.p99, pb.p99)];
}

/** "A → B": p50 of the first and of the last quarter of samples (in the order taken). */
export function trend(xs: number[], digits = 1): string {
  const q = Math.max(1, Math.floor(xs.length / 4));
  return `${fmt(percentile(xs.slice(0, q), 50), digits)} → ${fmt(percentile(xs.slice(-q), 50), digits)}`;
}
