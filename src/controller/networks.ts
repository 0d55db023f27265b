/** Network routes, and network deletion (refused while the network has endpoints). */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Network } from '../model/types.js';
import { withDeleteGuard } from './guard.js';
import { parseReservation } from './ipam.js';
import { requireNetwork, requireTenant } from './lookups.js';
import { createNetwork } from './network-create.js';
import { bridgedTraffic } from './bridged-traffic.js';
import { internalKeys, listObjs, retrying, RETRY, type Ctx } from './repo.js';

type TenantParams = { Params: { tenant: string } };
type NetworkParams = { Params: { tenant: string; network: string } };

export function networkRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get('/v1/networks', async () => (await listObjs<Network>(ctx.store, keys.networks())).items);

  app.get<TenantParams>('/v1/tenants/:tenant/networks', async (req) => {
    await requireTenant(ctx.store, req.params.tenant);
    return (await listObjs<Network>(ctx.store, keys.networksOf(req.params.tenant))).items;
  });

  app.post<TenantParams>('/v1/tenants/:tenant/networks', async (req, reply) =>
    reply.code(201).send(await createNetwork(ctx, req.params.tenant, req.body)),
  );

  app.get<NetworkParams>('/v1/tenants/:tenant/networks/:network', async (req) =>
    (await requireNetwork(ctx.store, req.params.tenant, req.params.network)).obj,
  );

  app.get<NetworkParams>('/v1/tenants/:tenant/networks/:network/bridged-traffic', async (req) => bridgedTraffic(ctx, req.params.tenant, req.params.network));

  app.delete<NetworkParams>('/v1/tenants/:tenant/networks/:network', async (req, reply) => {
    await deleteNetwork(ctx, req.params.tenant, req.params.network);
    return reply.code(204).send();
  });
}

/** The network, its VNI key, its reservations and the delete guard go in one txn (see guard.ts for the guard). */
async function deleteNetwork(ctx: Ctx, tenant: string, name: string): Promise<void> {
  const net = await requireNetwork(ctx.store, tenant, name);
  const guardKey = internalKeys.deleting('network', net.obj.id);
  const revision = await withDeleteGuard(ctx.store, guardKey, `network ${name} of tenant ${tenant}`, (guard) =>
    // A policy attach (issue 7) changes the network in place: its delete then reads it again.
    retrying(`delete network ${name}`, async () => {
      const current = await requireNetwork(ctx.store, tenant, name);
      if (current.obj.id !== net.obj.id) throw new TenetError('NETWORK_NOT_FOUND', `network ${name} of tenant ${tenant} was deleted meanwhile`);
      const held = (await ctx.store.list(keys.addrsOf(net.obj.id))).items;
      const endpoints = held.map(parseReservation).filter((r) => r.owner.kind === 'endpoint');
      if (endpoints.length > 0) {
        const ids = endpoints.slice(0, 5).map((r) => r.owner.id).join(', ');
        const more = endpoints.length > 5 ? ` and ${endpoints.length - 5} more` : '';
        throw new TenetError('NETWORK_IN_USE', `network ${name} of tenant ${tenant} still has endpoints: ${ids}${more}`, 'remove them first (tenet ep rm ID)');
      }
      const netKey = keys.network(tenant, name);
      // The gateway's and any requests' reservations go with the network (nothing can add one: the guard).
      const res = await ctx.store.txn(
        [{ key: netKey, modRevision: current.kv.modRevision }, guard, ...held.map((kv) => ({ key: kv.key, modRevision: kv.modRevision }))],
        [
          { type: 'delete', key: netKey },
          { type: 'delete', key: keys.vni(net.obj.vni) },
          { type: 'delete', key: keys.addrCursor(net.obj.id) },
          ...held.map((kv) => ({ type: 'delete' as const, key: kv.key })),
          { type: 'delete', key: guard.key },
        ],
      );
      return res.ok ? res.revision : RETRY;
    }),
  );
  ctx.log.info({ tenant, network: name, networkId: net.obj.id, vni: net.obj.vni, revision }, 'network deleted');
}
