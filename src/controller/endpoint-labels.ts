/**
 * PATCH /v1/endpoints/:id/labels {"set": {k: v}, "remove": [k]}: labels change in place,
 * conditionally on the endpoint's revision, so two concurrent edits both land.
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Endpoint } from '../model/types.js';
import { checkLabelCount, validateLabelKey, validateLabels } from '../model/validate-endpoint.js';
import { bodyObject } from './body.js';
import { requireEndpoint } from './lookups.js';
import { encode, nowIso, retrying, RETRY, type Ctx } from './repo.js';

interface LabelPatch {
  set: Record<string, string>;
  remove: string[];
}

/** The one place a labels body is read (a schema can replace it). */
export function parseLabelPatch(body: unknown): LabelPatch {
  const b = bodyObject(body);
  const remove = b.remove ?? [];
  if (!Array.isArray(remove)) throw new TenetError('BAD_REQUEST', 'field "remove" must be an array of label keys');
  return { set: validateLabels(b.set), remove: remove.map(validateLabelKey) };
}

export async function patchLabels(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const patch = parseLabelPatch(body);
  const next = await retrying(`label endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    const labels = { ...ep.obj.labels, ...patch.set };
    for (const k of patch.remove) delete labels[k];
    checkLabelCount(Object.keys(labels).length);
    const next: Endpoint = { ...ep.obj, labels, updatedAt: nowIso() };
    const res = await ctx.store.update(keys.endpoint(id), encode(next), ep.kv.modRevision);
    return res.ok ? next : RETRY;
  });
  ctx.log.info({ tenant: next.tenant, network: next.network, endpoint: id, set: patch.set, remove: patch.remove }, 'endpoint labels changed');
  return next;
}

/** `k=v` selectors (all must match), as ?label=k=v on GET /v1/endpoints. */
export function matchesLabels(ep: Endpoint, selectors: string[]): boolean {
  return selectors.every((s) => {
    const eq = s.indexOf('=');
    return eq < 0 ? s in (ep.labels ?? {}) : ep.labels?.[s.slice(0, eq)] === s.slice(eq + 1);
  });
}
