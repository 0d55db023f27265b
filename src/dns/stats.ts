/**
 * What the DNS servers of a host did, counted by result (answered, nxdomain, every drop
 * reason, rate-limited...), and a log of drops at a bounded rate: one line per interval at
 * most, carrying the counts since the last one, so a flood shows in the log without
 * becoming one.
 */
import type { Logger } from '../base/logger.js';

const DROPS = new Set(['short', 'oversized', 'not-a-query', 'malformed', 'bad-name', 'encode-failed', 'rate-limited', 'tcp-refused', 'tcp-oversized']);

export class DnsStats {
  readonly counts = new Map<string, number>();
  private pending = new Map<string, number>();
  private lastLog = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly logEveryMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  count(result: string, where: Record<string, unknown> = {}): void {
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
    if (!DROPS.has(result)) return;
    this.pending.set(result, (this.pending.get(result) ?? 0) + 1);
    const now = this.now();
    if (now - this.lastLog < this.logEveryMs) return;
    this.lastLog = now;
    this.logger.warn({ ...where, dropped: Object.fromEntries(this.pending) }, 'DNS packets dropped (counts since the last such line)');
    this.pending = new Map();
  }

  get(result: string): number {
    return this.counts.get(result) ?? 0;
  }

  /** Packets dropped so far, every reason together. */
  get dropped(): number {
    return [...this.counts].filter(([k]) => DROPS.has(k)).reduce((n, [, v]) => n + v, 0);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
