/**
 * Hosts: an agent registers with PUT (its record is written only when new or changed) and
 * gets a lease it keeps alive (liveness.ts); the host is up while the lease lives. A host
 * leaves in two ways, each taking its endpoints and their addresses in one txn:
 * - evict (`tenet host evict`): only a down host, so an operator never pulls endpoints from
 *   under a running agent; until then a down host's endpoints keep their addresses.
 * - DELETE (decommission; `tenet lab down` after stopping its agents): up or down, and the
 *   lease is revoked. An agent still running re-registers as a new host with no endpoints.
 */
import type { FastifyInstance } from 'fastify';
import type { HostLease, HostRegistration } from '../api/types.js';
import { formatIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import { DEFAULT_UNDERLAY, type Endpoint, type Host } from '../model/types.js';
import { validateHostName, validateIp, validateMtu, validateName } from '../model/validate.js';
import { LeaseNotFoundError, type Compare, type Op, type WriteResult } from '../store/types.js';
import { bodyObject } from './body.js';
import { endpointRemoval, heldKeys } from './endpoints.js';
import { withDeleteGuard } from './guard.js';
import { aliveValue, hostViews, keepHostAlive, liveLease, renewLease, reportRealized, type Alive } from './liveness.js';
import { requireHost } from './lookups.js';
import { encode, getObj, internalKeys, nowIso, retrying, RETRY, type Ctx, type Stored } from './repo.js';

type HostParams = { Params: { name: string } };

/** Used when an agent does not report its underlay MTU: plain Ethernet. */
export const DEFAULT_UNDERLAY_MTU = 1500;

export function hostRoutes(app: FastifyInstance, ctx: Ctx, leaseMs: number): void {
  app.get('/v1/hosts', async () => hostViews(ctx));

  app.put<HostParams>('/v1/hosts/:name', async (req, reply) => {
    const { registration, created } = await registerHost(ctx, req.params.name, req.body, leaseMs);
    return reply.code(created ? 201 : 200).send(registration);
  });

  app.post<HostParams>('/v1/hosts/:name/heartbeat', async (req, reply) => {
    await keepHostAlive(ctx, req.params.name, req.body);
    return reply.code(204).send();
  });

  app.put<HostParams>('/v1/hosts/:name/realized', async (req, reply) => {
    await reportRealized(ctx, req.params.name, req.body);
    return reply.code(204).send();
  });

  app.post<HostParams>('/v1/hosts/:name/evict', async (req, reply) => {
    await removeHost(ctx, req.params.name, 'evict');
    return reply.code(204).send();
  });

  app.delete<HostParams>('/v1/hosts/:name', async (req, reply) => {
    await removeHost(ctx, req.params.name, 'decommission');
    return reply.code(204).send();
  });
}

interface Registered {
  registration: HostRegistration;
  created: boolean;
  changed: boolean;
  granted: boolean;
}

/**
 * One txn writes what changed: the record (new, or a new VTEP, MTU or underlay) and the
 * alive key with a new lease (none alive). A re-registration of a live, unchanged host
 * writes nothing at all: it only keeps its lease alive.
 */
async function registerHost(ctx: Ctx, nameParam: string, body: unknown, leaseMs: number): Promise<Registered> {
  const name = validateHostName(nameParam);
  const b = bodyObject(body);
  const vtep = formatIp(validateIp('vtep', b.vtep));
  const underlayMtu = validateMtu(b.underlayMtu) || DEFAULT_UNDERLAY_MTU;
  const underlay = b.underlay === undefined ? DEFAULT_UNDERLAY : validateName('underlay', b.underlay);
  const result = await retrying(`register host ${name}`, async () => {
    const prev = await getObj<Host>(ctx.store, keys.host(name));
    const p = prev?.obj;
    const changed = !p || p.vtep !== vtep || p.underlayMtu !== underlayMtu || p.underlay !== underlay || p.registeredAt === undefined;
    const host: Host = changed ? { name, vtep, underlayMtu, underlay, registeredAt: p?.registeredAt ?? nowIso() } : p;
    const held = await renewLease(ctx.store, name);
    const compares: Compare[] = [];
    const ops: Op[] = [];
    if (changed) {
      compares.push({ key: keys.host(name), modRevision: prev?.kv.modRevision ?? 0 });
      ops.push({ type: 'put', key: keys.host(name), value: encode(host) });
    }
    const lease: HostLease = held.lease ?? (await ctx.store.grant(leaseMs));
    if (!held.lease) {
      compares.push({ key: internalKeys.alive(name), modRevision: held.kv?.modRevision ?? 0 });
      ops.push({ type: 'put', key: internalKeys.alive(name), value: aliveValue(lease), lease: lease.id });
    }
    if (ops.length > 0 && !(await commit(ctx, compares, ops)).ok) {
      if (!held.lease) await ctx.store.revoke(lease.id);
      return RETRY;
    }
    return { registration: { host, lease }, created: !prev, changed, granted: !held.lease };
  });
  logRegistration(ctx, result);
  return result;
}

/** A lease that ended between the read and the txn is a lost race like any other: retry. */
async function commit(ctx: Ctx, compares: Compare[], ops: Op[]): Promise<WriteResult> {
  try {
    return await ctx.store.txn(compares, ops);
  } catch (err) {
    if (err instanceof LeaseNotFoundError) return { ok: false, revision: await ctx.store.revision() };
    throw err;
  }
}

function logRegistration(ctx: Ctx, r: Registered): void {
  const { host, lease } = r.registration;
  const fields = { host: host.name, vtep: host.vtep, underlayMtu: host.underlayMtu, underlay: host.underlay, lease: lease.id };
  if (r.created) ctx.log.info(fields, 'host registered');
  else if (r.changed) ctx.log.info(fields, 'host updated');
  if (!r.created && r.granted) ctx.log.info(fields, 'host up: new lease');
  else if (!r.created && !r.changed) ctx.log.debug(fields, 'host re-registered: lease renewed');
}

/**
 * The delete guard stops new endpoints on this host from committing, so the list below is
 * complete; the endpoints, their allocation keys, the host, its status keys and the guard
 * then go in one txn. An evict compares the alive key as read: a host that comes back
 * meanwhile makes the txn fail, and the retry refuses with HOST_UP.
 */
async function removeHost(ctx: Ctx, name: string, mode: 'evict' | 'decommission'): Promise<void> {
  await requireHost(ctx.store, name);
  if (mode === 'evict') await refuseIfUp(ctx, name); // before the guard: a refusal writes nothing
  const guardKey = internalKeys.deleting('host', name);
  const done = await withDeleteGuard(ctx.store, guardKey, `host ${name}`, (guard) =>
    retrying(`${mode} host ${name}`, async () => {
      const host = await requireHost(ctx.store, name);
      const alive = mode === 'evict' ? await refuseIfUp(ctx, name) : await getObj<Alive>(ctx.store, internalKeys.alive(name));
      const realized = await ctx.store.get(internalKeys.realized(name));
      const all = (await ctx.store.list(keys.endpoints())).items;
      const mine = all.map((kv) => ({ kv, ep: JSON.parse(kv.value) as Endpoint })).filter((x) => x.ep.host === name);
      const compares: Compare[] = [
        guard,
        { key: keys.host(name), modRevision: host.kv.modRevision },
        { key: internalKeys.alive(name), modRevision: alive?.kv.modRevision ?? 0 },
      ];
      const ops: Op[] = [{ type: 'delete', key: keys.host(name) }, { type: 'delete', key: guard.key }];
      for (const kv of [alive?.kv, realized]) if (kv) ops.push({ type: 'delete', key: kv.key });
      for (const { kv, ep } of mine) {
        const removal = endpointRemoval(ep, kv.modRevision, await heldKeys(ctx.store, ep));
        compares.push(...removal.compares);
        ops.push(...removal.ops);
      }
      const res = await ctx.store.txn(compares, ops);
      return res.ok ? { endpoints: mine.map((x) => x.ep.id), lease: alive?.obj.lease } : RETRY;
    }),
  );
  // Its key is gone already; revoking drops the lease itself (a decommissioned live host).
  if (done.lease !== undefined) await ctx.store.revoke(done.lease);
  ctx.log.info({ host: name, endpoints: done.endpoints }, mode === 'evict' ? 'host evicted' : 'host deleted');
}

/** The alive key as read when the host is down (its lease ended: the key is on its way out). */
async function refuseIfUp(ctx: Ctx, name: string): Promise<Stored<Alive> | undefined> {
  const alive = await getObj<Alive>(ctx.store, internalKeys.alive(name));
  if ((await liveLease(ctx.store, alive?.obj)) === undefined) return alive;
  throw new TenetError('HOST_UP', `host ${name} is up: its lease is alive, so its agent is running`, 'stop its agent and wait for the lease to expire (tenet host ls shows it down), then evict it');
}
