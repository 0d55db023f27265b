/**
 * What a workload service (DNS, DHCP) did, counted by result (answered, every drop reason,
 * rate-limited...), with drops logged at a bounded rate: one line per interval at most,
 * carrying the counts since the last one, so a flood shows in the log without becoming one.
 */
import type { Logger } from './logger.js';

export class ResultCounts {
  readonly counts = new Map<string, number>();
  private pending = new Map<string, number>();
  private lastLog = -Infinity;

  /** `what`: the service, in the log line ("DNS", "DHCP"); `drops`: the results that are drops. */
  constructor(
    private readonly what: string,
    private readonly drops: ReadonlySet<string>,
    private readonly logger: Logger,
    private readonly logEveryMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  count(result: string, where: Record<string, unknown> = {}): void {
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
    if (!this.drops.has(result)) return;
    this.pending.set(result, (this.pending.get(result) ?? 0) + 1);
    const now = this.now();
    if (now - this.lastLog < this.logEveryMs) return;
    this.lastLog = now;
    this.logger.warn({ ...where, dropped: Object.fromEntries(this.pending) }, `${this.what} packets dropped (counts since the last such line)`);
    this.pending = new Map();
  }

  get(result: string): number {
    return this.counts.get(result) ?? 0;
  }

  /** Packets dropped so far, every reason together. */
  get dropped(): number {
    return [...this.counts].filter(([k]) => this.drops.has(k)).reduce((n, [, v]) => n + v, 0);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
