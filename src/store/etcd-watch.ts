/**
 * A Tenet watch over one etcd watch stream (ADR 021). etcd3's own Watcher is not used: it
 * moves its resume point to the header revision when the stream is created (before the
 * history it asked for has arrived) and drops the compaction revision of a cancelled watch.
 *
 * The stream asks etcd for the events from the revision of `lastDelivered` itself (not the
 * one after) and drops what is not newer: etcd refuses a start below its compaction point,
 * the contract refuses a start below or AT it, and this makes the two agree. When the stream
 * fails (a member died or restarted) it is opened again, on whichever member answers, from
 * the last revision delivered: nothing is lost or repeated. One etcd response holds whole
 * revisions (no fragmenting), so grouping its events by modRevision gives one onEvents call
 * per revision, in revision order.
 */
import type { Etcd3, IEvent, IWatchResponse } from 'etcd3';
import { sleep } from '../base/async.js';
import { fromEtcdRev, toEtcdRev, toKeyValue, type KeySpace } from './etcd-codec.js';
import { CompactedError, type Watch, type WatchEvent, type WatchHandlers } from './types.js';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

type WatchStream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

export class EtcdWatch implements Watch {
  private cancelled = false;
  /** etcd revision of the last event delivered (or the start point). */
  private lastDelivered: number;
  private stream?: WatchStream;
  private retryMs = RETRY_MIN_MS;

  constructor(
    private readonly client: Etcd3,
    private readonly space: KeySpace,
    private readonly prefix: string,
    afterRevision: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.lastDelivered = toEtcdRev(afterRevision);
    void this.run();
  }

  cancel(): void {
    this.cancelled = true;
    this.closeStream();
  }

  private async run(): Promise<void> {
    while (!this.cancelled) {
      const failure = await this.streamOnce().catch((err: unknown) => err);
      if (this.cancelled || failure === 'compacted') return;
      await sleep(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
  }

  /** One stream, until it fails (resolves 'failed') or reports compaction ('compacted'). */
  private async streamOnce(): Promise<'failed' | 'compacted'> {
    const stream = await this.client.watchClient.watch();
    if (this.cancelled) {
      stream.cancel();
      return 'failed';
    }
    this.stream = stream;
    return new Promise((resolve) => {
      stream.on('data', (res: IWatchResponse) => {
        if (this.cancelled) return;
        if (res.created && !res.canceled) this.retryMs = RETRY_MIN_MS;
        if (res.compact_revision && res.compact_revision !== '0') {
          this.fail(new CompactedError(fromEtcdRev(this.lastDelivered), fromEtcdRev(res.compact_revision)));
          return resolve('compacted');
        }
        if (res.canceled) return resolve(this.restart(stream));
        this.deliver(res.events);
      });
      stream.on('error', () => resolve(this.restart(stream)));
      stream.on('end', () => resolve(this.restart(stream)));
      const range = this.space.range(this.prefix);
      stream.write({ create_request: { ...range, start_revision: this.lastDelivered, prev_kv: true } });
    });
  }

  private restart(stream: WatchStream): 'failed' {
    if (this.stream === stream) this.stream = undefined;
    stream.cancel();
    return 'failed';
  }

  private fail(err: Error): void {
    this.cancelled = true;
    this.closeStream();
    this.handlers.onError(err);
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.on('error', () => {}); // the cancel itself surfaces as an error: expected
      stream.cancel();
    }
  }

  private deliver(events: IEvent[]): void {
    const fresh = events.filter((e) => Number(e.kv.mod_revision) > this.lastDelivered);
    for (const batch of byRevision(fresh)) {
      if (this.cancelled) return;
      this.lastDelivered = Number(batch[0]!.kv.mod_revision);
      this.handlers.onEvents(batch.map((e) => toWatchEvent(this.space, e)));
    }
  }
}

function byRevision(events: IEvent[]): IEvent[][] {
  const batches: IEvent[][] = [];
  for (const e of events) {
    const last = batches.at(-1);
    if (last && last[0]!.kv.mod_revision === e.kv.mod_revision) last.push(e);
    else batches.push([e]);
  }
  return batches;
}

/** Frozen, like the in-process backends' events (watch-hub.ts): a watcher cannot edit one. */
function toWatchEvent(space: KeySpace, e: IEvent): WatchEvent {
  const prevKv = e.prev_kv ? Object.freeze(toKeyValue(space, e.prev_kv)) : undefined;
  const kv =
    e.type === 'Delete'
      ? { key: space.unkey(e.kv.key), value: '', createRevision: prevKv?.createRevision ?? 0, modRevision: fromEtcdRev(e.kv.mod_revision) }
      : toKeyValue(space, e.kv);
  const event: WatchEvent = { type: e.type === 'Delete' ? 'delete' : 'put', kv: Object.freeze(kv) };
  if (prevKv) event.prevKv = prevKv;
  return Object.freeze(event);
}
