/**
 * Which tenants a host's agent may manage Docker networks for (ADR 014 addendum). A host
 * credential is confined to its own host (access.ts); `docker network create -d tenet` and
 * `docker network rm` on an agent joined over https need more: creating and deleting networks,
 * and the `--aux-address` reservations that have no TTL. The admin grants that per host and
 * per tenant:
 *   PUT /v1/hosts/:name/docker-tenants {"tenants": ["admin"]}     ([] takes it back)
 * The grant lives in the host's credential record (alloc/auth/, never sent to agents), so
 * revoking the credential (`tenet token rm --host`) revokes the grant, and a host that joins
 * again starts with none. Admin only: the route is in no host rule (deny by default).
 */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { validateHostName, validateName } from '../model/validate.js';
import { bodyObject } from './body.js';
import { encode, getObj, type Ctx } from './repo.js';
import { authKeys } from './tokens.js';

export const MAX_DOCKER_TENANTS = 64;

interface Granted {
  dockerTenants?: string[];
}

export function dockerGrantRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.put<{ Params: { name: string } }>('/v1/hosts/:name/docker-tenants', async (req) => setDockerTenants(ctx, req.params.name, req.body));
  app.get<{ Params: { name: string } }>('/v1/hosts/:name/docker-tenants', async (req) => getDockerTenants(ctx, req.params.name));
}

/** The one place a grant body is read. */
export function parseDockerTenants(body: unknown): string[] {
  const tenants = bodyObject(body).tenants;
  if (!Array.isArray(tenants) || tenants.length > MAX_DOCKER_TENANTS) throw new TenetError('BAD_REQUEST', 'field "tenants" must be a list of at most 64 tenant names', 'give ["TENANT", ...], or [] to take the grant back');
  return [...new Set(tenants.map((t) => validateName('tenant', t)))].sort();
}

async function setDockerTenants(ctx: Ctx, hostName: string, body: unknown): Promise<{ host: string; tenants: string[] }> {
  const host = validateHostName(hostName);
  const tenants = parseDockerTenants(body);
  const stored = await getObj<Granted>(ctx.store, authKeys.host(host));
  if (!stored) throw new TenetError('TOKEN_NOT_FOUND', `host ${host} has no credential: it never joined over https`, 'a host joins with `tenet agent --join TOKEN`; agents on the controller\'s unix socket need no grant');
  const next = { ...stored.obj, dockerTenants: tenants };
  const res = await ctx.store.update(authKeys.host(host), encode(next), stored.kv.modRevision);
  if (!res.ok) throw new TenetError('STORE_CONFLICT', `the credential of host ${host} changed meanwhile`, 'try again');
  ctx.log.info({ host, tenants }, 'docker tenants granted to host');
  return { host, tenants };
}

async function getDockerTenants(ctx: Ctx, hostName: string): Promise<{ host: string; tenants: string[] }> {
  const host = validateHostName(hostName);
  const stored = await getObj<Granted>(ctx.store, authKeys.host(host));
  if (!stored) throw new TenetError('TOKEN_NOT_FOUND', `host ${host} has no credential: it never joined over https`, 'a host joins with `tenet agent --join TOKEN`; agents on the controller\'s unix socket need no grant');
  return { host, tenants: stored.obj.dockerTenants ?? [] };
}

/** Whether the admin let `host` manage Docker networks of `tenant`. */
export async function dockerGranted(ctx: Ctx, host: string, tenant: string): Promise<boolean> {
  const stored = await getObj<Granted>(ctx.store, authKeys.host(host));
  return stored?.obj.dockerTenants?.includes(tenant) === true;
}
