/**
 * What the DHCP servers of a host did, counted by result (src/base/result-counts.ts): these
 * results are drops, logged at a bounded rate.
 */
import type { Logger } from '../base/logger.js';
import { ResultCounts } from '../base/result-counts.js';

export const DHCP_DROPS = new Set(['short', 'oversized', 'not-a-request', 'not-ethernet', 'no-magic', 'bad-options', 'no-type', 'bad-type', 'relayed', 'rate-limited', 'total-limited']);

export class DhcpStats extends ResultCounts {
  constructor(logger: Logger, logEveryMs?: number, now?: () => number) {
    super('DHCP', DHCP_DROPS, logger, logEveryMs, now);
  }
}
