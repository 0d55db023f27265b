/**
 * Keeps the store's history bounded: every `intervalMs` it compacts to the current revision
 * minus `keepRevisions`. The kept revisions are the slack for watchers that reconnect (an
 * agent restarting, a dropped API stream): they resume from their last revision, and only
 * one that fell further behind than the slack must re-list from scratch (CompactedError).
 */
import type { Logger } from '../base/logger.js';
import type { Store } from './types.js';

export interface CompactorOptions {
  keepRevisions: number;
  intervalMs: number;
  logger: Logger;
}

export interface Compactor {
  /** Stops the timer; resolves once a compaction already under way has finished. */
  stop(): Promise<void>;
}

export function startCompactor(store: Store, opts: CompactorOptions): Compactor {
  checkOptions(opts);
  let compactedTo = 0;
  let running: Promise<void> | undefined;

  const compactOnce = async (): Promise<void> => {
    const target = (await store.revision()) - opts.keepRevisions;
    if (target <= compactedTo) return;
    await store.compact(target);
    compactedTo = target;
    opts.logger.debug({ revision: target }, 'store history compacted');
  };

  const timer = setInterval(() => {
    // A slow compaction is never overlapped by the next tick; that tick is simply skipped.
    if (running) return;
    running = compactOnce()
      .catch((err: unknown) => opts.logger.warn({ err }, 'store compaction failed; retrying at the next interval'))
      .finally(() => (running = undefined));
  }, opts.intervalMs);
  // Compaction is housekeeping: it must never be what keeps the process alive.
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

function checkOptions({ keepRevisions, intervalMs }: CompactorOptions): void {
  if (!Number.isInteger(keepRevisions) || keepRevisions < 0) {
    throw new RangeError(`compactor keepRevisions must be a whole number >= 0, not ${keepRevisions}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`compactor intervalMs must be a positive number of milliseconds, not ${intervalMs}`);
  }
}
