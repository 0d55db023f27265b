/**
 * Lease bookkeeping shared by the backends that keep leases in-process (memory, SQLite): which
 * keys each lease holds and when it ends. Expiry lives in memory only, as in etcd's lessor: a
 * keep-alive touches no disk and makes no revision, and a backend that reopens gives every
 * lease it had a full TTL again (ADR 010), so a restart never expires a live host.
 *
 * The lessor never deletes keys itself. A backend ends a lease (revoke, or `expire` called by
 * the expiry loop) in three steps: `begin` (the lease stops being live and the loop skips it,
 * so it is never ended twice, even across an await), the backend's own write deleting the
 * keys `begin` returned (one revision, delete events), then `finish`; or `retry` when that
 * write failed, and the loop tries again at its next tick.
 */
import { performance } from 'node:perf_hooks';
import type { Lease } from './types.js';

interface LeaseState {
  ttlMs: number;
  expiresAt: number;
  keys: Set<string>;
  /** Between begin and finish/retry: not live, and not handed to the expiry loop again. */
  ending: boolean;
}

/** What a backend must delete to end a lease, and whether the lease was still live. */
export interface Ending {
  live: boolean;
  keys: string[];
}

/**
 * The lessor's clock: monotonic, so a wall-clock step (NTP, an operator's `date`) neither
 * expires every lease at once nor keeps dead ones alive.
 */
const now = (): number => performance.now();

/** How often ended leases are looked for: a lease ends at most this late. */
export const EXPIRY_TICK_MS = 100;

/** A lease TTL must be a positive number of milliseconds (a zero TTL would end at once). */
export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`a lease TTL must be a positive number of milliseconds, not ${ttlMs}`);
}

export class Lessor {
  private readonly leases = new Map<number, LeaseState>();
  private readonly keyLease = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  /** `expire` ends one lease through the backend's write path (begin, delete, finish). */
  constructor(private readonly expire: (id: number) => unknown) {}

  /** Starts the expiry timer (unref'd: an open store never keeps a process alive). */
  start(): void {
    this.timer ??= setInterval(() => this.expireDue(), EXPIRY_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records a lease (new, or restored from disk with a full TTL from now). */
  add(lease: Lease): void {
    this.leases.set(lease.id, { ttlMs: lease.ttlMs, expiresAt: now() + lease.ttlMs, keys: new Set(), ending: false });
  }

  /** Whether the lessor holds the lease at all, live or ended but not yet cleaned up. */
  knows(id: number): boolean {
    return this.leases.has(id);
  }

  /** Live: a put may bind a key to it. */
  has(id: number): boolean {
    const l = this.leases.get(id);
    return l !== undefined && !l.ending && l.expiresAt > now();
  }

  keepAlive(id: number): boolean {
    const l = this.leases.get(id);
    if (!l || !this.has(id)) return false;
    l.expiresAt = now() + l.ttlMs;
    return true;
  }

  timeToLive(id: number): number | undefined {
    const l = this.leases.get(id);
    // Whole milliseconds, rounded up: a live lease never reports 0.
    return l && this.has(id) ? Math.ceil(l.expiresAt - now()) : undefined;
  }

  /** Starts ending a lease; undefined when it is unknown or already ending elsewhere. */
  begin(id: number): Ending | undefined {
    const l = this.leases.get(id);
    if (!l || l.ending) return undefined;
    const live = this.has(id);
    l.ending = true;
    return { live, keys: [...l.keys] };
  }

  /** The lease's keys were deleted: forget it. */
  finish(id: number): void {
    for (const key of this.leases.get(id)?.keys ?? []) this.keyLease.delete(key);
    this.leases.delete(id);
  }

  /** Deleting the keys failed: the lease stays due and the expiry loop tries again. */
  retry(id: number): void {
    const l = this.leases.get(id);
    if (l) l.ending = false;
  }

  /** After a committed put (lease or none) or delete of `key`: who holds it now. */
  bind(key: string, lease: number | undefined): void {
    const before = this.keyLease.get(key);
    if (before !== undefined) this.leases.get(before)?.keys.delete(key);
    if (lease === undefined) {
      this.keyLease.delete(key);
      return;
    }
    this.keyLease.set(key, lease);
    this.leases.get(lease)?.keys.add(key);
  }

  /** Ends every lease whose time has passed and that is not being ended already. */
  expireDue(): void {
    const at = now();
    for (const [id, l] of this.leases) {
      if (l.ending || l.expiresAt > at) continue;
      // A failed end was put back by the backend (retry); the next tick tries it again, and
      // the disk error it hit is one every other write reports too.
      Promise.resolve()
        .then(() => this.expire(id))
        .catch(() => undefined);
    }
  }
}
