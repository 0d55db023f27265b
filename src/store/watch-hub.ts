/**
 * In-process watch fan-out for backends that see every write themselves (memory, SQLite).
 * A new watch first replays history newer than its start revision, then live events; both
 * go through one per-watch queue so no event is lost or reordered between the two.
 *
 * Every watcher receives the same event objects, frozen (event, kv, prevKv), so one event
 * costs the same whatever the number of watchers and no watcher can edit what another sees.
 * Each watcher gets its own arrays, though: they are cheap, and a watcher may keep or sort one.
 */
import type { Watch, WatchEvent, WatchHandlers } from './types.js';

interface Subscriber {
  prefix: string;
  handlers: WatchHandlers;
  lastDelivered: number;
  cancelled: boolean;
}

export class WatchHub {
  private readonly subs = new Set<Subscriber>();

  /** `history` returns the events after `afterRevision` (or throws CompactedError). */
  subscribe(prefix: string, afterRevision: number, handlers: WatchHandlers, history: () => WatchEvent[]): Watch {
    const sub: Subscriber = { prefix, handlers, lastDelivered: afterRevision, cancelled: false };
    let past: WatchEvent[];
    try {
      past = history().map(frozen);
    } catch (err) {
      // Reported later, like events, so the caller holds the Watch first and can cancel it.
      queueMicrotask(() => {
        if (!sub.cancelled) handlers.onError(err as Error);
      });
      return { cancel: () => void (sub.cancelled = true) };
    }
    this.subs.add(sub);
    this.deliver(sub, past);
    return {
      cancel: () => {
        sub.cancelled = true;
        this.subs.delete(sub);
      },
    };
  }

  /** Called by the backend after a committed write; all events share one revision. */
  publish(events: WatchEvent[]): void {
    if (this.subs.size === 0) return;
    events.forEach(frozen);
    for (const sub of this.subs) this.deliver(sub, events);
  }

  closeAll(): void {
    for (const sub of this.subs) sub.cancelled = true;
    this.subs.clear();
  }

  private deliver(sub: Subscriber, events: WatchEvent[]): void {
    const mine = events.filter((e) => e.kv.key.startsWith(sub.prefix) && e.kv.modRevision > sub.lastDelivered);
    if (mine.length === 0) return;
    sub.lastDelivered = mine[mine.length - 1]!.kv.modRevision;
    for (const group of groupByRevision(mine)) {
      queueMicrotask(() => {
        if (!sub.cancelled) sub.handlers.onEvents(group);
      });
    }
  }
}

/** Freezes an event in place, once for all watchers (a memory store's history repeats them). */
function frozen(e: WatchEvent): WatchEvent {
  if (Object.isFrozen(e)) return e;
  Object.freeze(e.kv);
  if (e.prevKv) Object.freeze(e.prevKv);
  return Object.freeze(e);
}

function groupByRevision(events: WatchEvent[]): WatchEvent[][] {
  const groups: WatchEvent[][] = [];
  for (const e of events) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.kv.modRevision === e.kv.modRevision) last.push(e);
    else groups.push([e]);
  }
  return groups;
}
