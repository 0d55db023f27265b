/**
 * The record of what agents reclaimed (issue 9: `tenet ep ls --stale`). An agent that finds
 * an endpoint's namespace gone, or its path naming another namespace, deletes the endpoint
 * with the reason (DELETE /v1/endpoints/:id?reclaimed=WHY); the record is written in the
 * same txn as the delete, so an address is never released without a trace, nor a trace left
 * for an address still held. Records live under status/ (no object kind: no watch carries
 * them) and are bounded: the newest RECLAIMED_KEEP, none older than RECLAIMED_TTL_MS
 * (pruned after each write and by the controller's GC round; an expired one is never shown).
 * In the controller, not the agent, so the admin CLI reads it from anywhere it works, and a
 * host that is down still has its history.
 */
import type { FastifyInstance } from 'fastify';
import type { ReclaimedEndpoint } from '../api/types.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import type { Op, Store } from '../store/types.js';
import { encode, internalKeys, type Ctx } from './repo.js';

export const RECLAIMED_KEEP = 1000;
export const RECLAIMED_TTL_MS = 24 * 3600_000;
/** A reason is a line of the agent's, e.g. "its namespace /run/netns/x is gone". */
export const MAX_RECLAIM_WHY = 500;

type ReclaimedQuery = { Querystring: { tenant?: string; network?: string; host?: string } };

/** The reason of a DELETE, checked: undefined for a plain delete. */
export function parseReclaimWhy(why: unknown): string | undefined {
  if (why === undefined) return undefined;
  if (typeof why !== 'string' || why.trim() === '' || why.length > MAX_RECLAIM_WHY || /[\x00-\x1f\x7f]/.test(why)) {
    throw new TenetError('BAD_REQUEST', `invalid reclaimed reason (${typeof why === 'string' ? `${why.length} characters` : typeof why})`, `give one printable line of at most ${MAX_RECLAIM_WHY} characters`);
  }
  return why;
}

/** The op that records the reclaim of `ep`, for the delete's txn. */
export function reclaimRecordOp(ep: Endpoint, why: string, now = Date.now()): Op {
  const record: ReclaimedEndpoint = {
    endpoint: ep.id,
    ...(ep.name ? { name: ep.name } : {}),
    tenant: ep.tenant,
    network: ep.network,
    ip: ep.ip,
    mac: ep.mac,
    ...(ep.host ? { host: ep.host } : {}),
    ...(ep.attachment ? { attachment: ep.attachment } : {}),
    labels: ep.labels,
    why,
    reclaimedAt: new Date(now).toISOString(),
  };
  return { type: 'put', key: internalKeys.reclaimed(now, ep.id), value: encode(record) };
}

const atOf = (key: string): number => Number(key.slice(internalKeys.reclaimeds().length).split('-')[0]);

/** Deletes records past the TTL and beyond the newest RECLAIMED_KEEP; returns how many. */
export async function pruneReclaimed(store: Store, now = Date.now(), keep = RECLAIMED_KEEP): Promise<number> {
  const items = (await store.list(internalKeys.reclaimeds())).items;
  const doomed = items.filter((kv, i) => i < items.length - keep || now - atOf(kv.key) > RECLAIMED_TTL_MS);
  let n = 0;
  for (const kv of doomed) if ((await store.delete(kv.key, kv.modRevision)).ok) n++;
  return n;
}

/** Newest first; only those still fresh. */
export async function listReclaimed(store: Store, filter: ReclaimedQuery['Querystring'], now = Date.now()): Promise<ReclaimedEndpoint[]> {
  const items = (await store.list(internalKeys.reclaimeds())).items.filter((kv) => now - atOf(kv.key) <= RECLAIMED_TTL_MS);
  const records = items.map((kv) => JSON.parse(kv.value) as ReclaimedEndpoint).reverse();
  return records.filter((r) => (!filter.tenant || r.tenant === filter.tenant) && (!filter.network || r.network === filter.network) && (!filter.host || r.host === filter.host));
}

export function reclaimedRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get<ReclaimedQuery>('/v1/reclaimed', async (req) => listReclaimed(ctx.store, req.query));
}
