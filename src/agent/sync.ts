/**
 * List+watch against the controller, filtered to this host (issue 6, ADR 011): one stream
 * (GET /v1/watch?host=H) carries the host's view as `put` lines, then `synced`, then only
 * the changes that concern this host. The lines before `synced` fill a fresh snapshot; on
 * `synced` the cache is reset to it and the agent reconciles (a diff against the kernel,
 * idempotent), so a re-list never needs to know what changed. A `resync` (this agent fell
 * behind), a dropped stream or an error all lead to the same thing: a new stream after a
 * capped backoff, with a fresh view. A broken answer (an HTTP error, a line without a
 * revision) is an error with backoff, never events. Retries forever: an agent outlives
 * controller restarts, and keeps its kernel state untouched while the controller is away.
 */
import type { ControllerClient } from '../api/client.js';
import { sleep } from '../base/async.js';
import { TenetError } from '../model/errors.js';
import type { Logger } from '../base/logger.js';
import type { Snapshot, WatchMessage } from '../api/types.js';
import { KIND_NAMES } from '../model/kinds.js';
import type { AnyObject } from '../model/types.js';
import type { Change, ObjectCache } from './cache.js';

export interface SyncHooks {
  /** After a (re-)list: the whole cache is new. */
  onListed(): void;
  onChange(change: Change): void;
  /** After every message, with what it changed for the datapath (often nothing). */
  onMessage(m: WatchMessage, change: Change | undefined): void;
}

const emptySnapshot = (): Snapshot => ({ revision: 0, objects: Object.fromEntries(KIND_NAMES.map((k) => [k, []])) as unknown as Snapshot['objects'] });

export async function runSync(client: ControllerClient, host: string, cache: ObjectCache, hooks: SyncHooks, logger: Logger, signal: AbortSignal): Promise<void> {
  let backoff = 100;
  while (!signal.aborted) {
    const view = emptySnapshot();
    let synced = false;
    let ended = 'the controller closed the stream';
    try {
      await client.watchHost(
        host,
        (m) => {
          if (!Number.isSafeInteger(m.revision)) throw new TenetError('INTERNAL', `watch message without a revision: ${JSON.stringify(m).slice(0, 80)}`);
          if (m.type === 'resync') {
            ended = `the controller asked for a re-list: ${m.reason}`;
          } else if (!synced) {
            if (m.type === 'put') (view.objects[m.kind] as AnyObject[] | undefined)?.push(m.object);
            if (m.type !== 'synced') return;
            view.revision = m.revision;
            cache.reset(view);
            synced = true;
            backoff = 100;
            logger.info({ revision: m.revision }, 'listed state from controller');
            hooks.onListed();
          } else {
            const change = cache.apply(m);
            if (change) hooks.onChange(change);
            hooks.onMessage(m, change);
          }
        },
        signal,
      );
      if (!signal.aborted) logger.info({ why: ended, retryInMs: backoff }, 'controller watch ended; listing again');
    } catch (err) {
      if (signal.aborted) break;
      logger.warn({ err: (err as Error).message, retryInMs: backoff }, 'controller watch failed; keeping kernel state and retrying');
    }
    if (signal.aborted) break;
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 5000);
  }
}
