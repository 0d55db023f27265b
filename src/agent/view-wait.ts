/**
 * The first endpoint of a tenant on this host brings the tenant into the host's view
 * (ADR 011): its networks and peer hosts arrive on the watch stream just after the
 * controller answered the attach. The attach's reconcile waits for them, briefly, so it
 * plans with the network rather than without it (which would fail the port).
 */
import { sleep } from '../base/async.js';
import type { Endpoint } from '../model/types.js';
import type { ObjectCache } from './cache.js';

const VIEW_WAIT_MS = 5_000;

/** Resolves once the cache holds the endpoint's network, or after `timeoutMs` (the reconcile then reports). */
export async function untilNetworkKnown(cache: ObjectCache, ep: Endpoint, timeoutMs = VIEW_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cache.networks.has(ep.networkId) && Date.now() < deadline) await sleep(5);
}
