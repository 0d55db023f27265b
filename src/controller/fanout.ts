/**
 * Server-side filtered list+watch (issue 6, ADR 011). One store watch per controller
 * process feeds an in-memory index (fanout-index.ts); each revision is turned into the
 * lines each concerned host must get (fanout-batch.ts), and those lines are handed to the
 * host's open watch streams. Hosts not concerned by a change cost nothing: no line, no
 * lookup. A host's stream starts with its view from the index, so a re-list costs the
 * size of one host's view, not of the store.
 */
import type { Snapshot } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { KIND_NAMES, KINDS, ROOT } from '../model/kinds.js';
import type { AnyObject } from '../model/types.js';
import { CompactedError, type Store, type Watch, type WatchEvent } from '../store/types.js';
import { applyBatch } from './fanout-batch.js';
import { entryOf, FanoutIndex, valueOf } from './fanout-index.js';

/** Where a host's lines go: one open watch stream. */
export interface HostSink {
  write(lines: readonly string[]): void;
  /** The fan-out can no longer follow (its own watch failed): the stream must end with `resync`. */
  cut(reason: string): void;
}

export class Fanout {
  index = new FanoutIndex();
  /** The store revision the index reflects. */
  revision = 0;
  private watch?: Watch;
  private stopped = false;
  private readonly sinks = new Map<string, Set<HostSink>>();
  /** Streams waiting for the index to reach a revision (a resume on a replica that lags). */
  private readonly waiters = new Set<{ revision: number; wake: () => void }>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  private loading: Promise<void> = Promise.resolve();

  /**
   * Lists every kind at one revision, then follows the store from there; in the background,
   * retried every second while the store fails, so the app starts (and answers its other
   * routes) whatever the store does. ready() says when the index can be served.
   */
  start(): void {
    this.loading = this.load().then(({ index, revision }) => {
      if (this.stopped) return;
      this.index = index;
      this.revision = revision;
      this.wakeWaiters();
      this.watch = this.store.watch(ROOT, revision, { onEvents: (events) => this.onEvents(events), onError: (err) => this.onError(err) });
      this.log.debug({ revision, objects: index.byKey.size }, 'fan-out index loaded');
    });
    this.loading.catch((err: Error) => {
      this.log.error({ err: err.message, stack: err.stack }, 'fan-out could not list the store; retrying in 1 s');
      if (!this.stopped) setTimeout(() => this.stopped || this.start(), 1_000).unref();
    });
  }

  /** Resolves once the index is loaded; rejects with the store's error while it cannot be. */
  ready(): Promise<void> {
    return this.loading;
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
  }

  /**
   * Registers a stream for `host` and returns its view now (put lines) and the revision it
   * is at. Synchronous, so no revision can fall between the view and the first live line.
   */
  subscribe(host: string, sink: HostSink): { lines: string[]; revision: number; cancel: () => void } {
    let set = this.sinks.get(host);
    if (!set) this.sinks.set(host, (set = new Set()));
    set.add(sink);
    const lines = [...this.index.viewOf(host)].map((e) => e.line);
    const cancel = () => {
      set!.delete(sink);
      if (set!.size === 0 && this.sinks.get(host) === set) this.sinks.delete(host);
    };
    return { lines, revision: this.revision, cancel };
  }

  /**
   * Resolves true once the index reflects `revision`, false if it has not after `ms`. With
   * several replicas on one store each follows it at its own pace: an agent resuming here
   * from a revision another replica served must not get an older view (ADR 023).
   */
  caughtUp(revision: number, ms: number): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { revision, wake: () => finish(true) };
      const timer = setTimeout(() => finish(false), ms);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(ok);
      };
      this.waiters.add(waiter);
    });
  }

  private wakeWaiters(): void {
    for (const w of [...this.waiters]) if (w.revision <= this.revision) w.wake();
  }

  /** The host's view as one Snapshot, at the fan-out's revision. */
  snapshotOf(host: string): Snapshot {
    const objects = Object.fromEntries(KIND_NAMES.map((k) => [k, [] as AnyObject[]])) as Record<string, AnyObject[]>;
    for (const e of this.index.viewOf(host)) objects[e.kind]!.push(JSON.parse(valueOf(e)) as AnyObject);
    return { revision: this.revision, objects: objects as unknown as Snapshot['objects'] };
  }

  private onEvents(events: WatchEvent[]): void {
    try {
      const out = applyBatch(this.index, events, (h) => this.sinks.has(h));
      this.revision = Math.max(this.revision, events[0]?.kv.modRevision ?? 0);
      for (const [host, lines] of out) for (const sink of [...(this.sinks.get(host) ?? [])]) sink.write(lines);
      this.wakeWaiters();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  /** The index can no longer be trusted: every host re-lists, from a fresh index. */
  private onError(err: Error): void {
    this.log.error({ err: err.message, stack: err.stack }, 'fan-out watch failed; re-listing');
    this.watch?.cancel();
    for (const set of [...this.sinks.values()]) for (const sink of [...set]) sink.cut('the controller re-listed its state');
    this.sinks.clear();
    if (!this.stopped) this.start();
  }

  /** Every kind at the revision of the first list, as takeSnapshot does. */
  private async load(): Promise<{ index: FanoutIndex; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      const index = new FanoutIndex();
      try {
        let revision: number | undefined;
        for (const kind of KIND_NAMES) {
          const list = await this.store.list(KINDS[kind].prefix, revision);
          revision ??= list.revision;
          for (const kv of list.items) index.set(entryOf(kind, kv.key, kv.value, kv.modRevision));
        }
        return { index, revision: revision ?? 0 };
      } catch (err) {
        if (!(err instanceof CompactedError) || attempt >= 3) throw err;
      }
    }
  }
}
