/**
 * The DNS server's per-source rate limit (issue 10): a token bucket per client address
 * (src/base/rate-limit.ts), 200 queries/s with a burst of 400.
 */
import { SourceLimiter as BaseLimiter, type LimitOptions } from '../base/rate-limit.js';

export type { LimitOptions };

export const DEFAULT_LIMITS: LimitOptions = { perSecond: 200, burst: 400, maxSources: 4096 };

export class SourceLimiter extends BaseLimiter {
  constructor(opts: LimitOptions = DEFAULT_LIMITS, now?: () => number) {
    super(opts, now);
  }
}
