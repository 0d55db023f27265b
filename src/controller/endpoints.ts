/**
 * Endpoint routes: create (endpoint-create.ts), attach/detach (endpoint-attachment.ts),
 * labels (endpoint-labels.ts), names (endpoint-name.ts), published ports (endpoint-ports.ts), list/get, status reports from agents, delete.
 */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { EndpointRealization } from '../api/types.js';
import type { Endpoint, EndpointStatus, Host } from '../model/types.js';
import { MAX_STATUS_DETAIL } from '../model/limits.js';
import { validateMtu } from '../model/validate.js';
import type { Compare, KeyValue, Op, Store } from '../store/types.js';
import { parseIp } from '../base/cidr.js';
import { bodyObject, optionalString } from './body.js';
import { attachEndpoint, detachEndpoint } from './endpoint-attachment.js';
import { createEndpoint } from './endpoint-create.js';
import { matchesLabels, patchLabels } from './endpoint-labels.js';
import { nameEndpoint } from './endpoint-name.js';
import { setPorts } from './endpoint-ports.js';
import { parseReservation } from './ipam.js';
import { livenessOf, realizedOn } from './liveness.js';
import { requireEndpoint } from './lookups.js';
import { parseReclaimWhy, pruneReclaimed, reclaimRecordOp } from './reclaimed.js';
import { encode, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

type NetworkParams = { Params: { tenant: string; network: string } };
type IdParams = { Params: { id: string } };
type ListQuery = { Querystring: { tenant?: string; network?: string; host?: string; label?: string | string[] } };

const STATUSES: readonly EndpointStatus[] = ['pending', 'up', 'error'];

/** From the fan-out's index (ADR 011): what hosts are sent, hence what they realize. */
export interface RealizationIndex {
  /** The hosts that carry a tenant (have an endpoint of it). */
  carriers(tenant: string): Iterable<string>;
  /** Revision of the object's last change other hosts were sent (status reports are not). */
  realizedAt(key: string): number | undefined;
}

const NO_INDEX: RealizationIndex = { carriers: () => [], realizedAt: () => undefined };

export function endpointRoutes(app: FastifyInstance, ctx: Ctx, index: RealizationIndex = NO_INDEX): void {
  app.post<NetworkParams>('/v1/tenants/:tenant/networks/:network/endpoints', async (req, reply) => {
    const { endpoint, created } = await createEndpoint(ctx, req.params.tenant, req.params.network, req.body);
    return reply.code(created ? 201 : 200).send(endpoint);
  });

  app.get<ListQuery>('/v1/endpoints', async (req) => {
    const { tenant, network, host } = req.query;
    const labels = [req.query.label ?? []].flat();
    const all = (await listObjs<Endpoint>(ctx.store, keys.endpoints())).items;
    return all.filter(
      (ep) => (!tenant || ep.tenant === tenant) && (!network || ep.network === network) && (!host || ep.host === host) && matchesLabels(ep, labels),
    );
  });

  app.get<IdParams>('/v1/endpoints/:id', async (req) => (await requireEndpoint(ctx.store, req.params.id)).obj);

  app.get<IdParams>('/v1/endpoints/:id/realized', async (req) => realization(ctx, req.params.id, index));

  app.patch<IdParams>('/v1/endpoints/:id/status', async (req) => setStatus(ctx, req.params.id, req.body));

  app.put<IdParams>('/v1/endpoints/:id/attachment', async (req) => attachEndpoint(ctx, req.params.id, req.body));

  app.delete<IdParams>('/v1/endpoints/:id/attachment', async (req) => detachEndpoint(ctx, req.params.id));

  app.patch<IdParams>('/v1/endpoints/:id/labels', async (req) => patchLabels(ctx, req.params.id, req.body));

  app.put<IdParams>('/v1/endpoints/:id/name', async (req) => nameEndpoint(ctx, req.params.id, req.body));

  app.put<IdParams>('/v1/endpoints/:id/ports', async (req) => setPorts(ctx, req.params.id, req.body));

  app.delete<IdParams & { Querystring: { reclaimed?: string } }>('/v1/endpoints/:id', async (req, reply) => {
    await deleteEndpoint(ctx, req.params.id, parseReclaimWhy(req.query.reclaimed));
    return reply.code(204).send();
  });
}

/**
 * Convergence as an API: every host of the endpoint's underlay that carries its tenant (the
 * hosts whose view holds it, ADR 011; the others never hear of it) reports the store revision
 * it has realized (src/agent/realized.ts, kept in internal keys: liveness.ts); the endpoint is
 * realized on a host once that revision reaches the endpoint's last write that changed what
 * hosts realize. Since an endpoint can be attached after its creation, its creation revision
 * does not say when hosts had to act; its last realized change does. Status reports and other
 * writes that leave the realized projection equal are sent to no other host, so they must not
 * count (the fan-out's index knows which). A down host counts as not realized (its state is
 * in the answer): nobody knows what its kernel has.
 */
async function realization(ctx: Ctx, id: string, index: RealizationIndex): Promise<EndpointRealization> {
  const ep = await requireEndpoint(ctx.store, id);
  const [hosts, life] = await Promise.all([listObjs<Host>(ctx.store, keys.hosts()).then((l) => l.items), livenessOf(ctx.store)]);
  const underlay = hosts.find((h) => h.name === ep.obj.host)?.underlay;
  // A status report is sent to no other host: waiting for it would wait for ever.
  const revision = Math.min(ep.kv.modRevision, index.realizedAt(ep.kv.key) ?? ep.kv.modRevision);
  const concerned = new Set([...index.carriers(ep.obj.tenant), ep.obj.host]);
  const peers = realizedOn(hosts.filter((h) => h.underlay === underlay && concerned.has(h.name)).map((h) => h.name), life, revision);
  return { endpoint: id, revision, realized: peers.length > 0 && peers.every((p) => p.realized), hosts: peers };
}

interface StatusReport {
  status: EndpointStatus;
  detail?: string;
  mtu?: number;
}

/** The one place a status body is read (a schema can replace it). */
function parseStatus(body: unknown): StatusReport {
  const b = bodyObject(body);
  const status = b.status as EndpointStatus;
  if (!STATUSES.includes(status)) {
    throw new TenetError('BAD_REQUEST', `invalid endpoint status ${JSON.stringify(b.status)}`, `use one of ${STATUSES.join(', ')}`);
  }
  const detail = optionalString('detail', b.detail);
  if (detail !== undefined && detail.length > MAX_STATUS_DETAIL) {
    throw new TenetError('BAD_REQUEST', `a status detail may have at most ${MAX_STATUS_DETAIL} characters (got ${detail.length})`, 'cut it (the agent does)');
  }
  return { status, detail, mtu: validateMtu(b.mtu) || undefined };
}

/** An agent's report; a late one about an endpoint detached meanwhile changes nothing. */
async function setStatus(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const { status, detail, mtu } = parseStatus(body);
  const updated = await retrying(`set status of endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    if (!ep.obj.attachment) return { prev: ep.obj, next: ep.obj };
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

/**
 * The endpoint, its reservation, MAC key and name key go in one txn (each only if still its
 * own); `reclaimed`: an agent's reason, recorded in the same txn (reclaimed.ts).
 */
export async function deleteEndpoint(ctx: Ctx, id: string, reclaimed?: string): Promise<void> {
  const ep = await retrying(`delete endpoint ${id}`, async () => {
    const found = await requireEndpoint(ctx.store, id);
    const { compares, ops } = endpointRemoval(found.obj, found.kv.modRevision, await heldKeys(ctx.store, found.obj));
    if (reclaimed) ops.push(reclaimRecordOp(found.obj, reclaimed));
    const res = await ctx.store.txn(compares, ops);
    return res.ok ? found.obj : RETRY;
  });
  ctx.log.info({ tenant: ep.tenant, network: ep.network, endpoint: id, host: ep.host, ip: ep.ip, ...(reclaimed ? { reclaimed } : {}) }, 'endpoint deleted');
  if (reclaimed) pruneReclaimed(ctx.store).catch((err: Error) => ctx.log.warn({ err: err.message }, 'pruning reclaimed records failed; the GC round retries'));
}

/** The allocation keys an endpoint may hold (read so their removal can be compared). */
export async function heldKeys(store: Store, ep: Endpoint): Promise<KeyValue[]> {
  const ip = parseIp(ep.ip);
  const wanted = [ip === undefined ? undefined : keys.addr(ep.networkId, ip), keys.mac(ep.networkId, ep.mac), ep.name ? keys.epName(ep.networkId, ep.name) : undefined];
  const found = await Promise.all(wanted.filter((k): k is string => k !== undefined).map((k) => store.get(k)));
  return found.filter((kv): kv is KeyValue => kv !== undefined);
}

/** Whether an allocation key (address reservation, MAC or name key) is held by this endpoint. */
function heldBy(kv: KeyValue, id: string): boolean {
  if (!kv.value.startsWith('{')) return kv.value === id;
  const r = parseReservation(kv);
  return r.owner.kind === 'endpoint' && r.owner.id === id;
}

/** Compares and ops that remove one endpoint and release what it holds. */
export function endpointRemoval(ep: Endpoint, modRevision: number, held: KeyValue[]): { compares: Compare[]; ops: Op[] } {
  const epKey = keys.endpoint(ep.id);
  const compares: Compare[] = [{ key: epKey, modRevision }];
  const ops: Op[] = [{ type: 'delete', key: epKey }];
  for (const kv of held.filter((h) => heldBy(h, ep.id))) {
    compares.push({ key: kv.key, modRevision: kv.modRevision });
    ops.push({ type: 'delete', key: kv.key });
  }
  return { compares, ops };
}
