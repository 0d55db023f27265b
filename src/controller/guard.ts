/**
 * Delete guards: how a parent (a network, a host) is deleted while its children (endpoints)
 * are being created concurrently, possibly by another controller replica, with no lock and
 * without serializing the children against each other.
 *
 * The store cannot compare "no key under this prefix" inside a txn, so "list the endpoints,
 * then delete the network if there are none" races with an attach committing in between.
 * Instead the delete first creates a guard key, and every endpoint create compares that key
 * in its own txn. Once the guard exists no endpoint can commit, so a list made after it sees
 * every endpoint there will be, and the final txn deletes the parent and the guard together.
 * (Kubernetes does this with deletionTimestamp on the object; a separate key keeps the
 * watched objects free of controller bookkeeping.)
 *
 * A controller that crashes mid-delete leaves its guard behind, so a guard older than
 * GUARD_TTL_MS counts as absent: creates compare it at its current modRevision, and the next
 * delete takes it over by rewriting it, which makes those creates fail and retry.
 */
import { TenetError } from '../model/errors.js';
import type { Compare, KeyValue, Store } from '../store/types.js';

export const GUARD_TTL_MS = 30_000;

export interface GuardState {
  /** A delete is in progress: creates should wait and retry. */
  active: boolean;
  /** The compare a create puts in its txn so that it fails if a delete starts meanwhile. */
  compare: Compare;
}

export async function readGuard(store: Store, key: string): Promise<GuardState> {
  const kv = await store.get(key);
  return { active: kv !== undefined && isFresh(kv), compare: { key, modRevision: kv?.modRevision ?? 0 } };
}

/**
 * Runs `fn` while holding the guard. `fn` receives the guard's compare so that its final txn
 * can check it and delete the guard; if `fn` throws, the guard is released.
 */
export async function withDeleteGuard<T>(store: Store, key: string, what: string, fn: (guard: Compare) => Promise<T>): Promise<T> {
  const guard = await acquire(store, key, what);
  try {
    return await fn(guard);
  } finally {
    // A no-op when fn's txn deleted the guard already.
    await store.delete(key, guard.modRevision);
  }
}

async function acquire(store: Store, key: string, what: string): Promise<Compare> {
  const stamp = String(Date.now());
  const created = await store.create(key, stamp);
  if (created.ok) return { key, modRevision: created.revision };
  const kv = await store.get(key);
  const busy = () => new TenetError('STORE_CONFLICT', `${what} is being deleted by another request`, 'try again in a moment');
  if (kv && isFresh(kv)) throw busy();
  const taken = kv ? await store.update(key, stamp, kv.modRevision) : await store.create(key, stamp);
  if (!taken.ok) throw busy();
  return { key, modRevision: taken.revision };
}

function isFresh(kv: KeyValue): boolean {
  const since = Date.now() - Number(kv.value);
  return Number.isFinite(since) && since < GUARD_TTL_MS;
}
