/**
 * What the DNS servers of a host did, counted by result (src/base/result-counts.ts): these
 * results are drops, logged at a bounded rate.
 */
import type { Logger } from '../base/logger.js';
import { ResultCounts } from '../base/result-counts.js';

const DROPS = new Set(['short', 'oversized', 'not-a-query', 'malformed', 'bad-name', 'encode-failed', 'rate-limited', 'tcp-refused', 'tcp-oversized']);

export class DnsStats extends ResultCounts {
  constructor(logger: Logger, logEveryMs?: number, now?: () => number) {
    super('DNS', DROPS, logger, logEveryMs, now);
  }
}
