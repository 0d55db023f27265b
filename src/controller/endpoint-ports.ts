/**
 * PUT /v1/endpoints/:id/ports {"ports": [...]}: the endpoint's whole list of published ports
 * (ADR 016), [] clearing it. Its host's agent realizes them. A host port that another
 * endpoint of the same host publishes is refused (HOST_PORT_IN_USE) and nothing changes.
 * The write is conditional on the endpoint's revision; the check reads the host's other
 * endpoints just before it (two writes to different endpoints can race past each other: the
 * agent then lets the smaller id keep the port, agent/ports.ts).
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import { clashes, mappingText, portText, validatePorts } from '../model/ports.js';
import type { Endpoint, PublishedPort } from '../model/types.js';
import { bodyObject } from './body.js';
import { requireEndpoint } from './lookups.js';
import { encode, listObjs, nowIso, retrying, RETRY, type Ctx } from './repo.js';

/** The one place a ports body is read. */
export function parsePortsBody(body: unknown): PublishedPort[] {
  return validatePorts(bodyObject(body).ports);
}

export async function setPorts(ctx: Ctx, id: string, body: unknown): Promise<Endpoint> {
  const ports = parsePortsBody(body);
  const next = await retrying(`publish ports of endpoint ${id}`, async () => {
    const ep = await requireEndpoint(ctx.store, id);
    if (JSON.stringify(ep.obj.ports ?? []) === JSON.stringify(ports)) return ep.obj; // Docker's Revoke of nothing: no write
    if (ports.length > 0) await refuseTaken(ctx, ep.obj, ports);
    const { ports: _old, ...rest } = ep.obj;
    const next: Endpoint = { ...rest, ...(ports.length ? { ports } : {}), updatedAt: nowIso() };
    const res = await ctx.store.update(keys.endpoint(id), encode(next), ep.kv.modRevision);
    return res.ok ? next : RETRY;
  });
  ctx.log.info({ tenant: next.tenant, network: next.network, endpoint: id, host: next.host, ports: ports.map(mappingText) }, 'endpoint ports set');
  return next;
}

async function refuseTaken(ctx: Ctx, ep: Endpoint, ports: PublishedPort[]): Promise<void> {
  if (ep.host === undefined) {
    throw new TenetError('BAD_REQUEST', `endpoint ${ep.id} is on no host yet, and a published port is a port of its host`, 'attach it first (tenet ep attach), or create it with --host');
  }
  const all = (await listObjs<Endpoint>(ctx.store, keys.endpoints())).items;
  for (const other of all) {
    if (other.id === ep.id || other.host !== ep.host) continue;
    const p = ports.find((mine) => other.ports?.some((theirs) => clashes(mine, theirs)));
    if (p) {
      const who = other.name ? `${other.id} (${other.name})` : other.id;
      throw new TenetError('HOST_PORT_IN_USE', `host port ${portText(p)} of host ${ep.host} is published by endpoint ${who}`, `pick another host port, or unexpose it there (tenet ep unexpose ${other.id} ${p.hostPort}/${p.proto})`);
    }
  }
}
