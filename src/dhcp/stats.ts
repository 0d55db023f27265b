/**
 * What the DHCP servers of a host did, counted by result (offer, ack, every drop reason...),
 * with drops logged at a bounded rate: one line per interval at most, carrying the counts
 * since the last one, so a flood shows in the log without becoming one.
 */
import type { Logger } from '../base/logger.js';

export const DHCP_DROPS = new Set(['short', 'oversized', 'not-a-request', 'not-ethernet', 'no-magic', 'bad-options', 'no-type', 'bad-type', 'relayed', 'rate-limited', 'total-limited']);

export class DhcpStats {
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
    if (!DHCP_DROPS.has(result)) return;
    this.pending.set(result, (this.pending.get(result) ?? 0) + 1);
    const now = this.now();
    if (now - this.lastLog < this.logEveryMs) return;
    this.lastLog = now;
    this.logger.warn({ ...where, dropped: Object.fromEntries(this.pending) }, 'DHCP packets dropped (counts since the last such line)');
    this.pending = new Map();
  }

  get(result: string): number {
    return this.counts.get(result) ?? 0;
  }

  get dropped(): number {
    return [...this.counts].filter(([k]) => DHCP_DROPS.has(k)).reduce((n, [, v]) => n + v, 0);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
