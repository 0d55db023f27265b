/**
 * List+watch against the controller, as Kubernetes informers do it: list everything at a
 * revision, watch from there; on a dropped stream resume from the last revision seen; on
 * "compacted" (a line, or an HTTP 410 COMPACTED answer) list again. A broken answer (an
 * HTTP error, a line without a revision) is an error with backoff, never events: the
 * cache's revision only ever comes from a real message. Retries forever with capped
 * backoff: an agent outlives controller restarts, and keeps its kernel state untouched
 * while the controller is away.
 */
import type { ControllerClient } from '../api/client.js';
import { sleep } from '../base/async.js';
import { isTenetError, TenetError } from '../model/errors.js';
import type { Logger } from '../base/logger.js';
import type { WatchMessage } from '../api/types.js';
import type { Change, ObjectCache } from './cache.js';

export interface SyncHooks {
  /** After a (re-)list: the whole cache is new. */
  onListed(): void;
  onChange(change: Change): void;
  /** After every message, with what it changed for the datapath (often nothing). */
  onMessage(m: WatchMessage, change: Change | undefined): void;
}

export async function runSync(client: ControllerClient, cache: ObjectCache, hooks: SyncHooks, logger: Logger, signal: AbortSignal): Promise<void> {
  let needList = true;
  let backoff = 100;
  while (!signal.aborted) {
    try {
      if (needList) {
        cache.reset(await client.snapshot());
        needList = false;
        logger.info({ revision: cache.revision }, 'listed state from controller');
        hooks.onListed();
      }
      await client.watch(
        cache.revision,
        (m) => {
          if (!Number.isSafeInteger(m.revision)) throw new TenetError('INTERNAL', `watch message without a revision: ${JSON.stringify(m).slice(0, 80)}`);
          if (m.type === 'compacted') needList = true;
          const change = cache.apply(m);
          if (change) hooks.onChange(change);
          hooks.onMessage(m, change);
          backoff = 100;
        },
        signal,
      );
      if (!needList) await sleep(50); // the controller closed the stream: resume, gently
    } catch (err) {
      if (signal.aborted) break;
      if (isTenetError(err) && err.code === 'COMPACTED') needList = true; // an HTTP 410 says what a `compacted` line says
      logger.warn({ err: (err as Error).message, retryInMs: backoff }, 'controller watch failed; keeping kernel state and retrying');
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}
