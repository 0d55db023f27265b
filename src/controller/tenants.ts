/** Tenants: the top of the model. A tenant is deleted only once it has no networks. */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Policy } from '../model/policy.js';
import type { Network, Tenant } from '../model/types.js';
import { validateName } from '../model/validate.js';
import type { Op } from '../store/types.js';
import { bodyObject } from './body.js';
import { requireTenant } from './lookups.js';
import { encode, internalKeys, listObjs, newId, nowIso, retrying, RETRY, type Ctx } from './repo.js';

type TenantParams = { Params: { tenant: string } };

export function tenantRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get('/v1/tenants', async () => (await listObjs<Tenant>(ctx.store, keys.tenants())).items);

  app.post('/v1/tenants', async (req, reply) => reply.code(201).send(await createTenant(ctx, req.body)));

  app.get<TenantParams>('/v1/tenants/:tenant', async (req) => (await requireTenant(ctx.store, req.params.tenant)).obj);

  app.delete<TenantParams>('/v1/tenants/:tenant', async (req, reply) => {
    await deleteTenant(ctx, req.params.tenant);
    return reply.code(204).send();
  });
}

async function createTenant(ctx: Ctx, body: unknown): Promise<Tenant> {
  const name = validateName('tenant', bodyObject(body).name);
  const tenant: Tenant = { id: newId(), name, createdAt: nowIso() };
  const res = await ctx.store.create(keys.tenant(name), encode(tenant));
  if (!res.ok) throw new TenetError('TENANT_EXISTS', `tenant ${name} exists already`, 'pick another name, or use the existing tenant');
  ctx.log.info({ tenant: name, tenantId: tenant.id, revision: res.revision }, 'tenant created');
  return tenant;
}

/**
 * The network-generation key (rewritten by every network create in the tenant) is compared
 * in the delete txn, so a network created after the emptiness check makes the delete retry.
 */
async function deleteTenant(ctx: Ctx, name: string): Promise<void> {
  const revision = await retrying(`delete tenant ${name}`, async () => {
    const tenant = await requireTenant(ctx.store, name);
    const genKey = internalKeys.networkGen(tenant.obj.id);
    const gen = await ctx.store.get(genKey);
    const networks = (await listObjs<Network>(ctx.store, keys.networksOf(name))).items;
    if (networks.length > 0) {
      const names = networks.map((n) => n.name).join(', ');
      throw new TenetError('TENANT_IN_USE', `tenant ${name} still has networks: ${names}`, 'delete them first (tenet net rm)');
    }
    // Policy creates rewrite the generation key too (policies.ts): none lands after this list.
    const policies = (await listObjs<Policy>(ctx.store, keys.policiesOf(name))).items;
    if (policies.length > 0) {
      throw new TenetError('TENANT_IN_USE', `tenant ${name} still has policies: ${policies.map((p) => p.name).join(', ')}`, 'delete them first (tenet policy rm)');
    }
    const ops: Op[] = [{ type: 'delete', key: keys.tenant(name) }];
    if (gen) ops.push({ type: 'delete', key: genKey });
    const compares = [
      { key: keys.tenant(name), modRevision: tenant.kv.modRevision },
      { key: genKey, modRevision: gen?.modRevision ?? 0 },
    ];
    const res = await ctx.store.txn(compares, ops);
    return res.ok ? res.revision : RETRY;
  });
  ctx.log.info({ tenant: name, revision }, 'tenant deleted');
}
