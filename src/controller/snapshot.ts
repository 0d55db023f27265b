/** Health and the snapshot an agent lists before it watches (DESIGN.md "Controller → agent"). */
import type { FastifyInstance } from 'fastify';
import type { Health, Snapshot } from '../api/types.js';
import { keys } from '../model/keys.js';
import type { Endpoint, Host, Network, Tenant } from '../model/types.js';
import { CompactedError } from '../store/types.js';
import { listObjs, type Ctx } from './repo.js';

export function snapshotRoutes(app: FastifyInstance, ctx: Ctx, version: string): void {
  app.get('/v1/health', async (): Promise<Health> => ({ ok: true, role: 'controller', revision: await ctx.store.revision(), version }));
  app.get('/v1/snapshot', async () => takeSnapshot(ctx));
}

/**
 * Every list is read at the revision of the first one, so the snapshot is one consistent
 * cut of the store even while writes go on, and a watch from its revision misses nothing.
 */
export async function takeSnapshot(ctx: Ctx): Promise<Snapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await snapshotOnce(ctx);
    } catch (err) {
      // A compaction between the first list and the others: start again at a newer revision.
      if (!(err instanceof CompactedError) || attempt >= 3) throw err;
    }
  }
}

async function snapshotOnce(ctx: Ctx): Promise<Snapshot> {
  const tenants = await listObjs<Tenant>(ctx.store, keys.tenants());
  const revision = tenants.revision;
  const [networks, endpoints, hosts] = await Promise.all([
    listObjs<Network>(ctx.store, keys.networks(), revision),
    listObjs<Endpoint>(ctx.store, keys.endpoints(), revision),
    listObjs<Host>(ctx.store, keys.hosts(), revision),
  ]);
  return { revision, tenants: tenants.items, networks: networks.items, endpoints: endpoints.items, hosts: hosts.items };
}
