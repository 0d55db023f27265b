/**
 * Address routes (ADR 005): list the reservations of a network, reserve an address for a
 * request (Docker's IPAM RequestAddress comes before any endpoint exists), release one.
 * Endpoint and gateway reservations are made and released with their owners only.
 */
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Network } from '../model/types.js';
import { validateIp } from '../model/validate.js';
import { shown } from '../model/validate-endpoint.js';
import { bodyObject, optionalString } from './body.js';
import { readGuard } from './guard.js';
import { checkRequested, cursorStart, findFree, parseReservation, reservation, type Owner, type Reservation } from './ipam.js';
import { isEndpointId, requireNetwork } from './lookups.js';
import { encode, internalKeys, newId, retrying, RETRY, type Ctx } from './repo.js';

type NetworkParams = { Params: { tenant: string; network: string } };
type AddressParams = { Params: { tenant: string; network: string; ip: string } };

const URL = '/v1/tenants/:tenant/networks/:network/addresses';
const MAX_TTL_SECONDS = 7 * 24 * 3600;

export function addressRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get<NetworkParams>(URL, async (req) => {
    const net = await requireNetwork(ctx.store, req.params.tenant, req.params.network);
    return (await ctx.store.list(keys.addrsOf(net.obj.id))).items.map(parseReservation);
  });
  app.post<NetworkParams>(URL, async (req, reply) => reply.code(201).send(await reserve(ctx, req.params.tenant, req.params.network, req.body)));
  app.delete<AddressParams>(`${URL}/:ip`, async (req, reply) => {
    await release(ctx, req.params.tenant, req.params.network, req.params.ip);
    return reply.code(204).send();
  });
}

interface ReserveSpec {
  ip?: number;
  owner: Owner;
  ttlSeconds?: number;
}

/** The one place a reserve body is read (a schema can replace it). */
export function parseReserve(body: unknown): ReserveSpec {
  const b = bodyObject(body ?? {});
  const ipText = optionalString('ip', b.ip);
  const ip = ipText ? validateIp('ip', ipText) : undefined;
  const o = (b.owner ?? { kind: 'request' }) as Record<string, unknown>;
  if (typeof o !== 'object' || (o.kind !== 'request' && o.kind !== 'floating-ip')) {
    throw new TenetError('BAD_REQUEST', `invalid owner ${shown(b.owner)}`, 'an address can be reserved for {"kind":"request"} or {"kind":"floating-ip"}; endpoints and gateways reserve their own');
  }
  const id = optionalString('owner.id', o.id) ?? newId();
  if (!isEndpointId(id)) throw new TenetError('BAD_REQUEST', `invalid owner id ${shown(id)}`, 'use 1-64 letters, digits, dots, dashes or underscores');
  const ttl = b.ttlSeconds;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS)) {
    throw new TenetError('BAD_REQUEST', `invalid ttlSeconds ${shown(ttl)}`, `give a whole number from 1 to ${MAX_TTL_SECONDS}, or leave it out to hold the address until released`);
  }
  return { ip, owner: { kind: o.kind, id }, ttlSeconds: ttl as number | undefined };
}

export async function reserve(ctx: Ctx, tenant: string, network: string, body: unknown): Promise<Reservation> {
  const spec = parseReserve(body);
  const r = await retrying(`reserve an address in ${network}`, async (attempt) => {
    const net = await requireNetwork(ctx.store, tenant, network);
    const guard = await readGuard(ctx.store, internalKeys.deleting('network', net.obj.id));
    if (guard.active) throw new TenetError('NETWORK_NOT_FOUND', `network ${network} of tenant ${tenant} is being deleted`);
    const ip = spec.ip !== undefined ? (await checkRequested(ctx.store, net.obj, spec.ip, false)).ip : await freeOrThrow(ctx, net.obj, attempt);
    const now = Date.now();
    const expiresAt = spec.ttlSeconds ? new Date(now + spec.ttlSeconds * 1000).toISOString() : undefined;
    const value = reservation(ip, spec.owner, new Date(now).toISOString(), expiresAt);
    const key = keys.addr(net.obj.id, ip);
    const res = await ctx.store.txn(
      [{ key, modRevision: 0 }, { key: keys.network(tenant, network), modRevision: net.kv.modRevision }, guard.compare],
      [{ type: 'put', key, value: encode(value) }, ...(spec.ip === undefined ? [cursorPut(net.obj, ip)] : [])],
    );
    return res.ok ? value : RETRY;
  });
  ctx.log.info({ tenant, network, ip: r.ip, owner: r.owner, expiresAt: r.expiresAt }, 'address reserved');
  return r;
}

async function freeOrThrow(ctx: Ctx, net: Network, attempt: number): Promise<number> {
  const ip = await findFree(ctx.store, net, await cursorStart(ctx.store, net, attempt));
  if (ip === undefined) throw new TenetError('SUBNET_EXHAUSTED', `network ${net.name} of tenant ${net.tenant} has no free address left in ${net.subnet}`, 'release reserved addresses or delete unused endpoints');
  return ip;
}

/** The cursor moves past an address handed out automatically; no compare: it is a hint. */
export function cursorPut(net: Network, ip: number): { type: 'put'; key: string; value: string } {
  return { type: 'put', key: keys.addrCursor(net.id), value: ip.toString(16) };
}

async function release(ctx: Ctx, tenant: string, network: string, ipText: string): Promise<void> {
  const net = await requireNetwork(ctx.store, tenant, network);
  const ip = validateIp('address', ipText);
  const kv = await ctx.store.get(keys.addr(net.obj.id, ip));
  if (!kv) throw new TenetError('ADDRESS_NOT_RESERVED', `address ${ipText} is not reserved in network ${network} of tenant ${tenant}`, 'list reservations with tenet ip ls');
  const r = parseReservation(kv);
  if (r.owner.kind === 'endpoint' || r.owner.kind === 'gateway') {
    const fix = r.owner.kind === 'endpoint' ? `delete endpoint ${r.owner.id} (tenet ep rm ${r.owner.id})` : 'the gateway is released with its network';
    throw new TenetError('IP_IN_USE', `address ${ipText} is held by ${r.owner.kind === 'gateway' ? 'the gateway' : `endpoint ${r.owner.id}`}`, fix);
  }
  const res = await ctx.store.delete(kv.key, kv.modRevision);
  if (!res.ok) throw new TenetError('STORE_CONFLICT', `address ${ipText} changed while being released`, 'try again');
  ctx.log.info({ tenant, network, ip: ipText, owner: r.owner }, 'address released');
}
