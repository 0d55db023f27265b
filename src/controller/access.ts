/**
 * What a host credential may do: exactly what its own agent needs, so that a stolen host
 * credential (or a compromised host) can touch nothing but its own host. It may read what
 * agents read (health, lists, and snapshot and watch filtered to its own view or unfiltered), write its own host record (no VTEP hijack of
 * another host), keep its own lease alive and report its own realized revision, and create, report on, publish the ports of and delete endpoints on its own host. Everything
 * else, including any route added later and not listed here, is admin-only: deny by default.
 *
 * Docker (ADR 014 addendum): every host may hold a short-lived `request` reservation (TTL at
 * most HOST_REQUEST_TTL_MAX) and release one, which is what `docker run --net=X` costs (IPAM
 * RequestAddress comes before any endpoint exists). That grants nothing a host lacks: it may
 * already create endpoints on itself in any network, holding an address with no TTL at all.
 * Creating and deleting networks, and reservations without a TTL (`--aux-address`), are only
 * for tenants the admin granted to the host (docker-grants.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../api/credentials.js';
import { parseIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Endpoint } from '../model/types.js';
import { dockerGranted } from './docker-grants.js';
import { parseReservation } from './ipam.js';
import { requireNetwork } from './lookups.js';
import { getObj, type Ctx } from './repo.js';

type HostRule = (ctx: Ctx, host: string, req: FastifyRequest) => Promise<string | undefined>;

/** Each rule returns why the request is refused, or undefined to allow it. */
const HOST_RULES: Record<string, HostRule> = {
  'PUT /v1/hosts/:name': ownHost('write its own host record'),
  'POST /v1/hosts/:name/heartbeat': ownHost('keep its own lease alive'),
  'PUT /v1/hosts/:name/realized': ownHost('report its own realized revision'),
  'POST /v1/tenants/:tenant/networks/:network/endpoints': async (_ctx, host, req) => {
    const target = (req.body as { host?: unknown } | undefined)?.host;
    return target === host ? undefined : `host ${host} may only create endpoints on itself (the request names host ${JSON.stringify(target)})`;
  },
  'PATCH /v1/endpoints/:id/status': endpointOnHost,
  'PUT /v1/endpoints/:id/attachment': async (ctx, host, req) => {
    const target = (req.body as { host?: unknown } | undefined)?.host;
    if (target !== host) return `host ${host} may only attach endpoints to itself (the request names host ${JSON.stringify(target)})`;
    return endpointOnHost(ctx, host, req);
  },
  'DELETE /v1/endpoints/:id/attachment': endpointOnHost,
  // Published ports (ADR 016): Docker's -p and CNI portMappings go through the host's agent.
  'PUT /v1/endpoints/:id/ports': endpointOnHost,
  // Docker's driver endpoints are named after their containers once they start (ADR 014).
  'PUT /v1/endpoints/:id/name': endpointOnHost,
  'DELETE /v1/endpoints/:id': endpointOnHost,
  'POST /v1/tenants/:tenant/networks': dockerTenant('create networks'),
  'DELETE /v1/tenants/:tenant/networks/:network': async (ctx, host, req) => {
    // One already gone is let through (NETWORK_NOT_FOUND): dockerd's DeleteNetwork of a network Tenet removed must succeed.
    const p = req.params as { tenant: string; network: string };
    if (!(await requireNetwork(ctx.store, p.tenant, p.network).catch(() => undefined))) return undefined;
    return dockerTenant('delete networks')(ctx, host, req);
  },
  'POST /v1/tenants/:tenant/networks/:network/addresses': hostReservation,
  'DELETE /v1/tenants/:tenant/networks/:network/addresses/:ip': hostRelease,
};

/** Docker's RequestAddress reserves for 120 s (src/docker/ipam-driver.ts); a host may ask for a little more. */
export const HOST_REQUEST_TTL_MAX = 300;

/** Allowed for tenants the admin granted to the host for Docker (PUT /v1/hosts/:name/docker-tenants). */
function dockerTenant(what: string): HostRule {
  return async (ctx, host, req) => {
    const tenant = (req.params as { tenant?: string }).tenant ?? '';
    return (await dockerGranted(ctx, host, tenant)) ? undefined : `host ${host} may not ${what} in tenant ${tenant}: the admin has not granted it that tenant for Docker (tenet docker allow ${host} ${tenant})`;
  };
}

/** A `request` reservation with a short TTL, in any network; anything else as dockerTenant. */
async function hostReservation(ctx: Ctx, host: string, req: FastifyRequest): Promise<string | undefined> {
  const b = (req.body ?? {}) as { owner?: { kind?: unknown }; ttlSeconds?: unknown };
  const ttl = b.ttlSeconds;
  const short = (b.owner?.kind ?? 'request') === 'request' && typeof ttl === 'number' && ttl >= 1 && ttl <= HOST_REQUEST_TTL_MAX;
  return short ? undefined : dockerTenant(`reserve addresses other than requests of at most ${HOST_REQUEST_TTL_MAX} s`)(ctx, host, req);
}

/**
 * A short-lived `request` reservation may be released by any host (Docker's ReleaseAddress);
 * an address not reserved, or held by an endpoint or gateway, is let through for the route
 * to answer (it refuses those itself). Anything else as dockerTenant.
 */
async function hostRelease(ctx: Ctx, host: string, req: FastifyRequest): Promise<string | undefined> {
  const p = req.params as { tenant: string; network: string; ip: string };
  const net = await requireNetwork(ctx.store, p.tenant, p.network).catch(() => undefined);
  const ip = parseIp(p.ip);
  const kv = net && ip !== undefined ? await ctx.store.get(keys.addr(net.obj.id, ip)) : undefined;
  const r = kv && parseReservation(kv);
  if (!r || r.owner.kind === 'endpoint' || r.owner.kind === 'gateway' || (r.owner.kind === 'request' && r.expiresAt)) return undefined;
  return dockerTenant('release reservations without a TTL')(ctx, host, req);
}

/** The route's :name must be the caller's own host. */
function ownHost(what: string): HostRule {
  return async (_ctx, host, req) => {
    const name = (req.params as { name?: string }).name;
    return name === host ? undefined : `host ${host} may only ${what}, not ${name}'s`;
  };
}
/** A view filtered by host (ADR 011) is the least a host needs: a host may ask only for its own. */
const ownView: HostRule = async (_ctx, host, req) => {
  const asked = (req.query as { host?: unknown } | undefined)?.host;
  return asked === undefined || asked === host ? undefined : `host ${host} may only list and watch its own view, not host ${JSON.stringify(asked)}'s`;
};
const READ_RULES: Record<string, HostRule> = {
  'GET /v1/watch': ownView,
  'GET /v1/snapshot': ownView,
  // Its Docker driver checks the grant before dockerd records a network (ADR 014 addendum).
  'GET /v1/hosts/:name/docker-tenants': ownHost('read its own Docker grant'),
};

/** Reads a host may make: all the API's GETs but the token list and the cluster's status (admin business). */
function readable(route: string): boolean {
  return route.startsWith('GET /v1/') && !route.startsWith('GET /v1/tokens') && route !== 'GET /v1/status';
}

export async function authorize(ctx: Ctx, caller: Caller, route: string, req: FastifyRequest): Promise<void> {
  if (caller.role === 'admin') return;
  if (readable(route)) {
    const refusal = await READ_RULES[route]?.(ctx, caller.host, req);
    if (refusal) throw new TenetError('FORBIDDEN', refusal, `use host=${caller.host}`);
    return;
  }
  const rule = HOST_RULES[route];
  const refusal = rule ? await rule(ctx, caller.host, req) : `a host credential may not call ${route}`;
  if (refusal) throw new TenetError('FORBIDDEN', refusal, 'use the admin token for this');
}

/** An endpoint that does not exist is let through: the route answers ENDPOINT_NOT_FOUND. */
async function endpointOnHost(ctx: Ctx, host: string, req: FastifyRequest): Promise<string | undefined> {
  const id = (req.params as { id?: string }).id ?? '';
  const ep = await getObj<Endpoint>(ctx.store, keys.endpoint(id));
  // A detached endpoint with no host yet may be attached by any host (body.host is checked).
  if (!ep || ep.obj.host === undefined || ep.obj.host === host) return undefined;
  return `host ${host} may only change endpoints on itself; endpoint ${id} is on ${ep.obj.host}`;
}
