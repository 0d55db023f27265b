/**
 * GET /v1/status, what `tenet status` prints: the store's health and members, the controller
 * replicas and which one leads (their registrations, leader.ts), hosts up and down
 * (liveness.ts), and the endpoints and policies not realized everywhere (status-realization.ts).
 *
 * Any replica answers, from the store alone. The answer is meant for a cluster in trouble, so
 * it never fails as a whole: the store's own status() never throws, and when the store
 * cannot be read the other parts come back empty with `error` saying why (HTTP 200: the
 * request itself worked; `tenet status` turns an unhealthy answer into its exit code).
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterStatus, ControllerView } from '../api/types.js';
import { keys } from '../model/keys.js';
import type { Store } from '../store/types.js';
import type { RealizationIndex } from './endpoints.js';
import { leaderKeys, type ControllerRecord } from './leader.js';
import { livenessOf } from './liveness.js';
import type { Ctx } from './repo.js';
import { unrealizedObjects } from './status-realization.js';

/** How many down hosts and unrealized objects are named (the counts are always whole). */
export const STATUS_FIRST = 20;

export function statusRoutes(app: FastifyInstance, ctx: Ctx, index: RealizationIndex): void {
  app.get('/v1/status', async () => clusterStatus(ctx, index));
}

export async function clusterStatus(ctx: Ctx, index: RealizationIndex): Promise<ClusterStatus> {
  const store = await ctx.store.status();
  const empty: ClusterStatus = { store, controllers: [], hosts: { up: 0, down: 0, downNames: [] }, unrealized: { endpoints: 0, policies: 0, first: [] } };
  try {
    const [{ controllers, leader }, life] = await Promise.all([controllersOf(ctx.store), livenessOf(ctx.store)]);
    const hostNames = (await ctx.store.list(keys.hosts())).items.map((kv) => kv.key.slice(keys.hosts().length));
    const down = hostNames.filter((h) => life.get(h)?.state !== 'up').sort();
    const unrealized = await unrealizedObjects(ctx.store, life, index, STATUS_FIRST);
    const out: ClusterStatus = { store, controllers, hosts: { up: hostNames.length - down.length, down: down.length, downNames: down.slice(0, STATUS_FIRST) }, unrealized };
    if (leader !== undefined) out.leader = leader;
    return out;
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'status: the store could not be read');
    return { ...empty, error: `the store could not be read: ${(err as Error).message}` };
  }
}

/** The registered replicas, the leader marked (the leader key names it; its registration shares its lease). */
async function controllersOf(store: Store): Promise<{ controllers: ControllerView[]; leader?: string }> {
  const [regs, leaderKv] = await Promise.all([store.list(leaderKeys.controllers()), store.get(leaderKeys.leader())]);
  const leader = leaderKv?.value;
  const controllers = regs.items.map((kv) => {
    const r = JSON.parse(kv.value) as ControllerRecord;
    return { id: r.id, urls: r.urls, version: r.version, startedAt: r.startedAt, leader: r.id === leader };
  });
  return { controllers, leader };
}
