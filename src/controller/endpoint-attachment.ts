/**
 * Attaching an existing endpoint and detaching it (ADR 005). Detach keeps the endpoint, its
 * name, labels, MAC and address: only the binding to a namespace goes, and the status
 * becomes `detached`. Attach binds it (again) on one host; an endpoint attached elsewhere
 * must be detached first, and a repeated attach with the same binding is a no-op.
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Attachment, Endpoint } from '../model/types.js';
import { validateHostName } from '../model/validate.js';
import { sameAttachment, validateAttachment } from '../model/validate-endpoint.js';
import { bodyObject } from './body.js';
import { readGuard } from './guard.js';
import { requireEndpoint, requireHost } from './lookups.js';
import { encode, internalKeys, nowIso, retrying, RETRY, type Ctx } from './repo.js';

interface AttachSpec {
  host: string;
  attachment: Attachment;
}

/** The one place an attach body is read (a schema can replace it). */
export function parseAttach(body: unknown): AttachSpec {
  const b = bodyObject(body);
  return { host: validateHostName(b.host), attachment: validateAttachment(b.attachment) };
}

function where(ep: Endpoint): string {
  const a = ep.attachment;
  const what = a?.kind === 'netns' ? `namespace ${a.netns} (${a.ifname})` : `handoff interface ${a?.hostIfname}`;
  return `${what} on host ${ep.host}`;
}

export async function attachEndpoint(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const spec = parseAttach(body);
  const { next, changed } = await retrying(`attach endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    if (ep.obj.attachment) {
      if (ep.obj.host === spec.host && sameAttachment(ep.obj.attachment, spec.attachment)) return { next: ep.obj, changed: false };
      throw new TenetError('ENDPOINT_ATTACHED', `endpoint ${id} is attached to ${where(ep.obj)}`, `detach it first (tenet ep detach ${id})`);
    }
    const host = await requireHost(ctx.store, spec.host);
    const guard = await readGuard(ctx.store, internalKeys.deleting('host', spec.host));
    if (guard.active) throw new TenetError('HOST_NOT_FOUND', `host ${spec.host} is being deleted`);
    const next: Endpoint = { ...ep.obj, host: spec.host, attachment: spec.attachment, status: 'pending', updatedAt: nowIso() };
    delete next.statusDetail;
    const res = await ctx.store.txn(
      [{ key: keys.endpoint(id), modRevision: ep.kv.modRevision }, { key: keys.host(spec.host), modRevision: host.kv.modRevision }, guard.compare],
      [{ type: 'put', key: keys.endpoint(id), value: encode(next) }],
    );
    return res.ok ? { next, changed: true } : RETRY;
  });
  if (changed) ctx.log.info({ tenant: next.tenant, network: next.network, endpoint: id, host: next.host, attachment: next.attachment?.kind }, 'endpoint attached');
  return next;
}

export async function detachEndpoint(ctx: Ctx, id: string): Promise<Endpoint> {
  const { next, changed } = await retrying(`detach endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    if (!ep.obj.attachment) return { next: ep.obj, changed: false };
    const { attachment: _gone, statusDetail: _detail, mtu: _mtu, ...rest } = ep.obj;
    const next: Endpoint = { ...rest, status: 'detached', updatedAt: nowIso() };
    const res = await ctx.store.update(keys.endpoint(id), encode(next), ep.kv.modRevision);
    return res.ok ? { next, changed: true } : RETRY;
  });
  if (changed) ctx.log.info({ tenant: next.tenant, network: next.network, endpoint: id, host: next.host }, 'endpoint detached');
  return next;
}
