/**
 * Garbage collection of allocation keys (ADR 005): address reservations, MAC keys and name
 * keys whose owner endpoint is gone, reservations of networks that are gone, and request
 * reservations past their expiresAt. Endpoint deletes release their keys in the same txn,
 * so in a healthy store this finds nothing; it repairs what a crashed writer or a bug left.
 *
 * The keys are listed first and the endpoints after, so a key whose endpoint was created
 * between the two lists is never taken for an orphan; each delete compares the modRevision
 * that was read, so a key claimed or rewritten meanwhile is left alone.
 */
import type { Logger } from '../base/logger.js';
import { keys } from '../model/keys.js';
import type { KeyValue, Store } from '../store/types.js';
import { isExpired, parseReservation } from './ipam.js';
import { pruneReclaimed } from './reclaimed.js';

export const GC_INTERVAL_MS = 60_000;

/** Network id of an allocation key: the segment after the kind's prefix. */
const networkIdOf = (key: string, prefix: string): string => key.slice(prefix.length).split('/')[0] ?? '';

export interface GcResult {
  released: string[];
}

export async function collectGarbage(store: Store, now = Date.now()): Promise<GcResult> {
  const [addrs, macs, names] = await Promise.all([store.list(keys.addrs()), store.list(keys.macs()), store.list(keys.epNames())]);
  const endpointIds = new Set((await store.list(keys.endpoints())).items.map((kv) => kv.key.slice(keys.endpoints().length)));
  const networkIds = new Set((await store.list(keys.networks())).items.map((kv) => (JSON.parse(kv.value) as { id: string }).id));
  const orphanAddr = (kv: KeyValue): boolean => {
    const r = parseReservation(kv);
    if (!networkIds.has(networkIdOf(kv.key, keys.addrs()))) return true;
    if (r.owner.kind === 'endpoint') return !endpointIds.has(r.owner.id);
    return isExpired(r, now);
  };
  const orphanHeld = (prefix: string) => (kv: KeyValue): boolean => !endpointIds.has(kv.value) || !networkIds.has(networkIdOf(kv.key, prefix));
  const doomed = [...addrs.items.filter(orphanAddr), ...macs.items.filter(orphanHeld(keys.macs())), ...names.items.filter(orphanHeld(keys.epNames()))];
  const released: string[] = [];
  for (const kv of doomed) if ((await store.delete(kv.key, kv.modRevision)).ok) released.push(kv.key);
  return { released };
}

/** Runs collectGarbage every intervalMs until stop(); a failed round is logged, not fatal. */
export function startGarbageCollector(store: Store, logger: Logger, intervalMs = GC_INTERVAL_MS): { stop(): void } {
  const round = async () => {
    try {
      const { released } = await collectGarbage(store);
      if (released.length > 0) logger.info({ released }, 'released orphaned or expired allocations');
      await pruneReclaimed(store); // the record of reclaimed endpoints stays bounded (reclaimed.ts)
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'garbage collection round failed; will retry');
    }
  };
  const timer = setInterval(() => void round(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
