/**
 * Endpoint creation (the controller half of an attach). One txn writes the endpoint and its
 * IP key, with compares that make it fail, and retry from fresh reads, if anything it
 * checked changed meanwhile: the address or the id was taken, the network was deleted or
 * is being deleted, the host re-registered or is being deleted (guard.ts).
 *
 * A caller-given id makes retries idempotent: the same id with the same placement returns
 * the existing endpoint, so a CNI ADD or a Docker CreateEndpoint repeated after a timeout
 * does not leak an address.
 */
import { sleep } from '../base/async.js';
import { formatIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import { endpointMac } from '../model/mac.js';
import type { Endpoint, Network } from '../model/types.js';
import { requireString, validateHostName, validateIfname, validateIp, validateMac } from '../model/validate.js';
import { bodyObject, optionalString } from './body.js';
import { readGuard } from './guard.js';
import { pickAddress } from './ipam.js';
import { isEndpointId, requireHost, requireNetwork } from './lookups.js';
import { encode, internalKeys, newId, nowIso, retrying, RETRY, type Ctx } from './repo.js';

interface EndpointSpec {
  id: string;
  host: string;
  netns: string;
  ifname: string;
  ip?: number;
  mac?: string;
}

function parseSpec(body: unknown): EndpointSpec {
  const b = bodyObject(body);
  const id = optionalString('id', b.id);
  if (id !== undefined && !isEndpointId(id)) {
    throw new TenetError('INVALID_NAME', `invalid endpoint id ${JSON.stringify(id)}`, 'use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  const ip = b.ip === undefined || b.ip === null || b.ip === '' ? undefined : validateIp('ip', b.ip);
  return {
    id: id ?? newId(),
    host: validateHostName(b.host),
    netns: requireString('netns', b.netns),
    ifname: validateIfname(b.ifname),
    ip,
    mac: validateMac(b.mac),
  };
}

export interface CreateResult {
  endpoint: Endpoint;
  created: boolean;
}

export async function createEndpoint(ctx: Ctx, tenant: string, network: string, body: unknown): Promise<CreateResult> {
  const spec = parseSpec(body);
  const result = await retrying(`create endpoint ${spec.id}`, (attempt) => tryCreate(ctx, tenant, network, spec, attempt));
  const ep = result.endpoint;
  const fields = { tenant, network, endpoint: ep.id, host: ep.host, ip: ep.ip, mac: ep.mac };
  if (result.created) ctx.log.info(fields, 'endpoint created');
  else ctx.log.debug(fields, 'endpoint create repeated: returning the existing one');
  return result;
}

async function tryCreate(ctx: Ctx, tenant: string, network: string, spec: EndpointSpec, attempt: number): Promise<CreateResult | typeof RETRY> {
  const { store } = ctx;
  const net = await requireNetwork(store, tenant, network);
  const existing = await store.get(keys.endpoint(spec.id));
  if (existing) return { endpoint: sameOrThrow(JSON.parse(existing.value) as Endpoint, net.obj, spec), created: false };
  const host = await requireHost(store, spec.host);
  const netGuard = await readGuard(store, internalKeys.deleting('network', net.obj.id));
  const hostGuard = await readGuard(store, internalKeys.deleting('host', spec.host));
  if (netGuard.active || hostGuard.active) {
    await sleep(25);
    return RETRY;
  }
  const ip = await pickAddress(store, net.obj, spec.ip, attempt);
  const endpoint = newEndpoint(net.obj, spec, ip);
  const ipKey = keys.ip(net.obj.id, ip);
  const epKey = keys.endpoint(spec.id);
  const res = await store.txn(
    [
      { key: ipKey, modRevision: 0 },
      { key: epKey, modRevision: 0 },
      { key: keys.network(tenant, network), modRevision: net.kv.modRevision },
      { key: keys.host(spec.host), modRevision: host.kv.modRevision },
      netGuard.compare,
      hostGuard.compare,
    ],
    [
      { type: 'put', key: ipKey, value: spec.id },
      { type: 'put', key: epKey, value: encode(endpoint) },
    ],
  );
  return res.ok ? { endpoint, created: true } : RETRY;
}

function newEndpoint(net: Network, spec: EndpointSpec, ip: string): Endpoint {
  const now = nowIso();
  return {
    id: spec.id,
    tenant: net.tenant,
    network: net.name,
    networkId: net.id,
    host: spec.host,
    netns: spec.netns,
    ifname: spec.ifname,
    mac: spec.mac ?? endpointMac(ip),
    ip,
    prefixLen: Number(net.subnet.split('/')[1]),
    gateway: net.gateway,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  };
}

/** A repeated create must ask for the same thing; anything else is a clash of ids. */
function sameOrThrow(ep: Endpoint, net: Network, spec: EndpointSpec): Endpoint {
  const same =
    ep.networkId === net.id &&
    ep.host === spec.host &&
    ep.netns === spec.netns &&
    ep.ifname === spec.ifname &&
    (spec.ip === undefined || ep.ip === formatIp(spec.ip)) &&
    (spec.mac === undefined || ep.mac === spec.mac);
  if (same) return ep;
  throw new TenetError(
    'ENDPOINT_EXISTS',
    `endpoint ${ep.id} exists already on host ${ep.host} (network ${ep.tenant}/${ep.network}, netns ${ep.netns}, ${ep.ifname})`,
    'use another id, or delete the existing endpoint first',
  );
}
