/**
 * PUT /v1/endpoints/:id/name {"name": "web"}: names (or renames) an endpoint after its
 * creation. Docker's driver needs it: libnetwork never tells a remote driver the container's
 * name, so the agent's event monitor learns it from dockerd once the container starts and
 * names the endpoint then (ADR 014). The name key moves in the same txn as the endpoint, so
 * a name is never held by two endpoints of a network nor left behind by a rename.
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Endpoint } from '../model/types.js';
import { validateEndpointName } from '../model/validate-endpoint.js';
import type { Compare, Op } from '../store/types.js';
import { bodyObject } from './body.js';
import { requireEndpoint } from './lookups.js';
import { encode, nowIso, retrying, RETRY, type Ctx } from './repo.js';

/** The one place a name body is read: a name is required (an endpoint is not unnamed by this route). */
export function parseNameBody(body: unknown): string {
  const name = validateEndpointName(bodyObject(body).name);
  if (name === undefined) throw new TenetError('INVALID_NAME', 'field "name" is required', 'give the endpoint name, 1-63 letters, digits, dots, dashes or underscores');
  return name;
}

export async function nameEndpoint(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const name = parseNameBody(body);
  let before: string | undefined;
  const next = await retrying(`name endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    before = ep.obj.name;
    if (ep.obj.name === name) return ep.obj; // a repeat (the monitor's catch-up) writes nothing
    const newKey = keys.epName(ep.obj.networkId, name);
    const oldKey = ep.obj.name ? keys.epName(ep.obj.networkId, ep.obj.name) : undefined;
    const holder = await ctx.store.get(newKey);
    if (holder && holder.value !== id) {
      throw new TenetError('ENDPOINT_NAME_IN_USE', `endpoint ${holder.value} of network ${ep.obj.tenant}/${ep.obj.network} is named ${name} already`, 'pick another name, or delete that endpoint first');
    }
    const next: Endpoint = { ...ep.obj, name, updatedAt: nowIso() };
    const compares: Compare[] = [{ key: keys.endpoint(id), modRevision: ep.kv.modRevision }, { key: newKey, modRevision: holder?.modRevision ?? 0 }];
    const ops: Op[] = [{ type: 'put', key: keys.endpoint(id), value: encode(next) }];
    // Names are keyed case-insensitively: a change of case keeps the same key.
    if (oldKey && oldKey !== newKey) ops.push({ type: 'delete', key: oldKey });
    ops.push({ type: 'put', key: newKey, value: id });
    const res = await ctx.store.txn(compares, ops);
    return res.ok ? next : RETRY;
  });
  if (before !== name) ctx.log.info({ tenant: next.tenant, network: next.network, endpoint: id, name, before }, 'endpoint named');
  return next;
}
