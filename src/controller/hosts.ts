/**
 * Hosts: agents register (and heartbeat) with PUT; deleting a host decommissions it, which
 * also deletes its endpoints and releases their addresses, all in one txn.
 */
import type { FastifyInstance } from 'fastify';
import { formatIp } from '../base/cidr.js';
import { keys } from '../model/keys.js';
import { DEFAULT_UNDERLAY, type Endpoint, type Host } from '../model/types.js';
import { validateHostName, validateIp, validateMtu, validateName } from '../model/validate.js';
import type { Compare, Op } from '../store/types.js';
import { bodyObject, revisionField } from './body.js';
import { endpointRemoval, heldKeys } from './endpoints.js';
import { withDeleteGuard } from './guard.js';
import { requireHost } from './lookups.js';
import { encode, getObj, internalKeys, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

type HostParams = { Params: { name: string } };

/** Used when an agent does not report its underlay MTU: plain Ethernet. */
export const DEFAULT_UNDERLAY_MTU = 1500;

export function hostRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get('/v1/hosts', async () => (await listObjs<Host>(ctx.store, keys.hosts())).items);

  app.put<HostParams>('/v1/hosts/:name', async (req, reply) => {
    const { host, created } = await registerHost(ctx, req.params.name, req.body);
    return reply.code(created ? 201 : 200).send(host);
  });

  app.delete<HostParams>('/v1/hosts/:name', async (req, reply) => {
    await deleteHost(ctx, req.params.name);
    return reply.code(204).send();
  });
}

async function registerHost(ctx: Ctx, nameParam: string, body: unknown): Promise<{ host: Host; created: boolean }> {
  const name = validateHostName(nameParam);
  const b = bodyObject(body);
  const vtep = formatIp(validateIp('vtep', b.vtep));
  const underlayMtu = validateMtu(b.underlayMtu) || DEFAULT_UNDERLAY_MTU;
  const underlay = b.underlay === undefined ? DEFAULT_UNDERLAY : validateName('underlay', b.underlay);
  const realized = b.realizedRevision === undefined ? undefined : revisionField('realizedRevision', b.realizedRevision);
  const result = await retrying(`register host ${name}`, async () => {
    const prev = await getObj<Host>(ctx.store, keys.host(name));
    const host: Host = { name, vtep, underlayMtu, underlay, lastSeen: nowIso() };
    const realizedRevision = realized ?? prev?.obj.realizedRevision;
    if (realizedRevision !== undefined) host.realizedRevision = realizedRevision;
    const value = encode(host);
    const res = prev ? await ctx.store.update(keys.host(name), value, prev.kv.modRevision) : await ctx.store.create(keys.host(name), value);
    return res.ok ? { host, prev: prev?.obj } : RETRY;
  });
  const { host, prev } = result;
  const fields = { host: name, vtep, underlayMtu, underlay, realizedRevision: host.realizedRevision };
  if (!prev) ctx.log.info(fields, 'host registered');
  else if (prev.vtep !== vtep || prev.underlayMtu !== underlayMtu || prev.underlay !== underlay) ctx.log.info({ ...fields, prevVtep: prev.vtep }, 'host updated');
  else ctx.log.debug(fields, 'host heartbeat');
  return { host, created: !prev };
}

/**
 * The delete guard stops new endpoints on this host from committing, so the list below is
 * complete; the endpoints, their IP keys, the host and the guard then go in one txn.
 */
async function deleteHost(ctx: Ctx, name: string): Promise<void> {
  await requireHost(ctx.store, name);
  const guardKey = internalKeys.deleting('host', name);
  const removed = await withDeleteGuard(ctx.store, guardKey, `host ${name}`, (guard) =>
    retrying(`delete host ${name}`, async () => {
      const host = await requireHost(ctx.store, name);
      const all = (await ctx.store.list(keys.endpoints())).items;
      const mine = all.map((kv) => ({ kv, ep: JSON.parse(kv.value) as Endpoint })).filter((x) => x.ep.host === name);
      const compares: Compare[] = [guard, { key: keys.host(name), modRevision: host.kv.modRevision }];
      const ops: Op[] = [{ type: 'delete', key: keys.host(name) }, { type: 'delete', key: guard.key }];
      for (const { kv, ep } of mine) {
        const removal = endpointRemoval(ep, kv.modRevision, await heldKeys(ctx.store, ep));
        compares.push(...removal.compares);
        ops.push(...removal.ops);
      }
      const res = await ctx.store.txn(compares, ops);
      return res.ok ? mine.map((x) => x.ep.id) : RETRY;
    }),
  );
  ctx.log.info({ host: name, endpoints: removed }, 'host deleted');
}
