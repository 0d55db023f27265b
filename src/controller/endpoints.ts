/** Endpoint routes: create (endpoint-create.ts), list/get, status reports from agents, delete. */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { EndpointRealization } from '../api/types.js';
import type { Endpoint, EndpointStatus, Host } from '../model/types.js';
import { validateMtu } from '../model/validate.js';
import type { Compare, KeyValue, Op } from '../store/types.js';
import { bodyObject, optionalString } from './body.js';
import { createEndpoint } from './endpoint-create.js';
import { requireEndpoint } from './lookups.js';
import { encode, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

type NetworkParams = { Params: { tenant: string; network: string } };
type IdParams = { Params: { id: string } };
type ListQuery = { Querystring: { tenant?: string; network?: string; host?: string } };

const STATUSES: readonly EndpointStatus[] = ['pending', 'up', 'error'];

export function endpointRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.post<NetworkParams>('/v1/tenants/:tenant/networks/:network/endpoints', async (req, reply) => {
    const { endpoint, created } = await createEndpoint(ctx, req.params.tenant, req.params.network, req.body);
    return reply.code(created ? 201 : 200).send(endpoint);
  });

  app.get<ListQuery>('/v1/endpoints', async (req) => {
    const { tenant, network, host } = req.query;
    const all = (await listObjs<Endpoint>(ctx.store, keys.endpoints())).items;
    return all.filter((ep) => (!tenant || ep.tenant === tenant) && (!network || ep.network === network) && (!host || ep.host === host));
  });

  app.get<IdParams>('/v1/endpoints/:id', async (req) => (await requireEndpoint(ctx.store, req.params.id)).obj);

  app.get<IdParams>('/v1/endpoints/:id/realized', async (req) => realization(ctx, req.params.id));

  app.patch<IdParams>('/v1/endpoints/:id/status', async (req) => setStatus(ctx, req.params.id, req.body));

  app.delete<IdParams>('/v1/endpoints/:id', async (req, reply) => {
    await deleteEndpoint(ctx, req.params.id);
    return reply.code(204).send();
  });
}

/**
 * Convergence as an API: every host of the endpoint's underlay reports the store revision it
 * has realized (src/agent/realized.ts); the endpoint is realized on a host once that revision
 * reaches the endpoint's creation. What hosts program (address, MAC, host) never changes
 * after creation; later writes are status reports, which need nothing from other hosts.
 */
async function realization(ctx: Ctx, id: string): Promise<EndpointRealization> {
  const ep = await requireEndpoint(ctx.store, id);
  const hosts = (await listObjs<Host>(ctx.store, keys.hosts())).items;
  const underlay = hosts.find((h) => h.name === ep.obj.host)?.underlay;
  const revision = ep.kv.createRevision;
  const peers = hosts
    .filter((h) => h.underlay === underlay)
    .map((h) => ({ host: h.name, realizedRevision: h.realizedRevision ?? 0, realized: (h.realizedRevision ?? 0) >= revision }));
  return { endpoint: id, revision, realized: peers.length > 0 && peers.every((p) => p.realized), hosts: peers };
}

async function setStatus(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const b = bodyObject(body);
  const status = b.status as EndpointStatus;
  if (!STATUSES.includes(status)) {
    throw new TenetError('BAD_REQUEST', `invalid endpoint status ${JSON.stringify(b.status)}`, `use one of ${STATUSES.join(', ')}`);
  }
  const detail = optionalString('detail', b.detail);
  const mtu = validateMtu(b.mtu) || undefined;
  const updated = await retrying(`set status of endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    const { statusDetail: _old, ...rest } = ep.obj;
    const next: Endpoint = { ...rest, status, updatedAt: nowIso() };
    if (detail) next.statusDetail = detail;
    if (mtu !== undefined) next.mtu = mtu;
    const res = await ctx.store.update(keys.endpoint(id), encode(next), ep.kv.modRevision);
    return res.ok ? { prev: ep.obj, next } : RETRY;
  });
  const { prev, next } = updated;
  const fields = { tenant: next.tenant, network: next.network, endpoint: id, host: next.host, status, detail };
  if (prev.status !== status || prev.statusDetail !== next.statusDetail) ctx.log.info(fields, 'endpoint status changed');
  else ctx.log.debug(fields, 'endpoint status reported');
  return next;
}

/** The endpoint and its IP key go in one txn; the IP key only if it is still this endpoint's. */
export async function deleteEndpoint(ctx: Ctx, id: string): Promise<void> {
  const ep = await retrying(`delete endpoint ${id}`, async () => {
    const found = await requireEndpoint(ctx.store, id);
    const { compares, ops } = endpointRemoval(found.obj, found.kv.modRevision, await ctx.store.get(keys.ip(found.obj.networkId, found.obj.ip)));
    const res = await ctx.store.txn(compares, ops);
    return res.ok ? found.obj : RETRY;
  });
  ctx.log.info({ tenant: ep.tenant, network: ep.network, endpoint: id, host: ep.host, ip: ep.ip }, 'endpoint deleted');
}

/** Compares and ops that remove one endpoint and release its address. */
export function endpointRemoval(ep: Endpoint, modRevision: number, ipKv: KeyValue | undefined): { compares: Compare[]; ops: Op[] } {
  const epKey = keys.endpoint(ep.id);
  const compares: Compare[] = [{ key: epKey, modRevision }];
  const ops: Op[] = [{ type: 'delete', key: epKey }];
  if (ipKv && ipKv.value === ep.id) {
    compares.push({ key: ipKv.key, modRevision: ipKv.modRevision });
    ops.push({ type: 'delete', key: ipKv.key });
  }
  return { compares, ops };
}
