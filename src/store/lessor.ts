/**
 * Lease bookkeeping shared by the backends that keep leases in-process (memory, SQLite): which
 * keys each lease holds and when it ends. Expiry lives in memory only, as in etcd's lessor: a
 * keep-alive touches no disk and makes no revision, and a backend that reopens gives every
 * lease it had a full TTL again (lessor.restore), so a restart never expires a live host.
 *
 * The lessor never deletes keys itself: when leases end it calls `expire` with their ids,
 * and the backend revokes each one through its own write path (one revision, delete events).
 */
import type { Lease } from './types.js';

interface LeaseState {
  ttlMs: number;
  expiresAt: number;
  keys: Set<string>;
}

/** How often ended leases are looked for: a lease ends at most this late. */
export const EXPIRY_TICK_MS = 100;

export class Lessor {
  private readonly leases = new Map<number, LeaseState>();
  private readonly keyLease = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly expire: (ids: number[]) => void) {}

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
    this.leases.set(lease.id, { ttlMs: lease.ttlMs, expiresAt: Date.now() + lease.ttlMs, keys: new Set() });
  }

  has(id: number): boolean {
    const l = this.leases.get(id);
    return l !== undefined && l.expiresAt > Date.now();
  }

  keepAlive(id: number): boolean {
    const l = this.leases.get(id);
    if (!l || l.expiresAt <= Date.now()) return false;
    l.expiresAt = Date.now() + l.ttlMs;
    return true;
  }

  timeToLive(id: number): number | undefined {
    const l = this.leases.get(id);
    const left = l ? l.expiresAt - Date.now() : 0;
    return left > 0 ? left : undefined;
  }

  /** The keys a lease holds now (a copy: the caller deletes them). */
  keysOf(id: number): string[] {
    return [...(this.leases.get(id)?.keys ?? [])];
  }

  /** Forgets a lease after its keys were deleted. */
  remove(id: number): void {
    for (const key of this.keysOf(id)) this.keyLease.delete(key);
    this.leases.delete(id);
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

  /** Leases whose time has passed, then the backend's revoke of each. */
  expireDue(): void {
    const now = Date.now();
    const due = [...this.leases].filter(([, l]) => l.expiresAt <= now).map(([id]) => id);
    if (due.length > 0) this.expire(due);
  }
}
