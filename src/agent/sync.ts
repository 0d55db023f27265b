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
 *
 * With several controller replicas (ADR 023) the client moves to another one when a stream
 * cannot be opened, and every new stream names the revision the cache has applied: the view
 * it starts with is never older, so the host never goes back in time when the replica it
 * lands on follows the store a little behind the last. A view at an older revision is
 * refused here too (a controller that does not know the rule). Only when every replica
 * keeps answering REPLICA_BEHIND (the store was restored, say) does the agent take the view
 * there is, after a warning: a store that went back is the truth the agent must follow.
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

/** REPLICA_BEHIND answers in a row after which the agent takes the view the store has. */
export const BEHIND_LIMIT = 5;

export async function runSync(client: ControllerClient, host: string, cache: ObjectCache, hooks: SyncHooks, logger: Logger, signal: AbortSignal): Promise<void> {
  let backoff = 100;
  let behind = 0;
  let listedOnce = false;
  while (!signal.aborted) {
    const view = emptySnapshot();
    let synced = false;
    let ended = 'the controller closed the stream';
    // What the cache has applied: the next view must not be older (0 on the first list).
    const applied = listedOnce && behind < BEHIND_LIMIT ? cache.revision : 0;
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
            if (m.revision < applied) throw new TenetError('REPLICA_BEHIND', `the controller's view is at revision ${m.revision}, older than the ${applied} this host applied`);
            view.revision = m.revision;
            cache.reset(view);
            synced = true;
            listedOnce = true;
            behind = 0;
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
      if (err instanceof TenetError && err.code === 'REPLICA_BEHIND' && ++behind === BEHIND_LIMIT) {
        logger.warn({ applied: cache.revision }, 'every controller stays behind what this host applied (was the store restored?); taking the view it has');
      }
      logger.warn({ err: (err as Error).message, retryInMs: backoff }, 'controller watch failed; keeping kernel state and retrying');
    }
    if (signal.aborted) break;
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 5000);
  }
}
