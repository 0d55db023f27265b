/**
 * Endpoint creation. One txn writes the endpoint, its address reservation, its MAC key and
 * its name key, with compares that make it fail, and retry from fresh reads, if anything it
 * checked changed meanwhile: the address, MAC, name or id was taken, the network was
 * deleted or is being deleted, the host re-registered or is being deleted (guard.ts).
 *
 * An endpoint is created detached (no attachment: Docker's CreateEndpoint, `tenet ep
 * create`) or attached in the same txn (the agent's one-call attach, where latency
 * matters). An address held by a 'request' reservation (Docker's IPAM RequestAddress) is
 * claimed: its owner becomes the endpoint in the same txn.
 *
 * A caller-given id makes retries idempotent: the same id with the same placement returns
 * the existing endpoint, so a CNI ADD or a Docker CreateEndpoint repeated after a timeout
 * does not leak an address.
 */
import { sleep } from '../base/async.js';
import { formatIp, parseIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import { endpointMac, gatewayMac } from '../model/mac.js';
import type { Attachment, Endpoint, Network } from '../model/types.js';
import { validateHostName, validateIp, validateMac } from '../model/validate.js';
import { sameAttachment, shown, validateAttachment, validateEndpointName, validateLabels } from '../model/validate-endpoint.js';
import { cursorPut } from './addresses.js';
import { bodyObject, optionalString } from './body.js';
import { readGuard, type GuardState } from './guard.js';
import { parseReservation, pickAddress, reservation, type Picked } from './ipam.js';
import { isEndpointId, requireHost, requireNetwork } from './lookups.js';
import { encode, internalKeys, newId, nowIso, retrying, RETRY, type Ctx } from './repo.js';
import type { Compare, Op, Store } from '../store/types.js';

export interface EndpointSpec {
  id: string;
  host?: string;
  name?: string;
  labels: Record<string, string>;
  ip?: number;
  mac?: string;
  attachment?: Attachment;
}

/** The one place a create body is read (a schema can replace it). */
export function parseSpec(body: unknown): EndpointSpec {
  const b = bodyObject(body);
  const id = optionalString('id', b.id);
  if (id !== undefined && !isEndpointId(id)) {
    throw new TenetError('INVALID_NAME', `invalid endpoint id ${shown(id)}`, 'use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  const ip = b.ip === undefined || b.ip === null || b.ip === '' ? undefined : validateIp('ip', b.ip);
  const host = b.host === undefined || b.host === null ? undefined : validateHostName(b.host);
  const attachment = b.attachment === undefined || b.attachment === null ? undefined : validateAttachment(b.attachment);
  if (attachment && !host) throw new TenetError('BAD_REQUEST', 'an attached endpoint needs its host', 'give "host" with "attachment"');
  return { id: id ?? newId(), host, name: validateEndpointName(b.name), labels: validateLabels(b.labels), ip, mac: validateMac(b.mac), attachment };
}

export interface CreateResult {
  endpoint: Endpoint;
  created: boolean;
}

export async function createEndpoint(ctx: Ctx, tenant: string, network: string, body: unknown): Promise<CreateResult> {
  const spec = parseSpec(body);
  const result = await retrying(`create endpoint ${spec.id}`, (attempt) => tryCreate(ctx, tenant, network, spec, attempt));
  const ep = result.endpoint;
  const fields = { tenant, network, endpoint: ep.id, name: ep.name, host: ep.host, ip: ep.ip, mac: ep.mac, attached: ep.attachment?.kind ?? false };
  if (result.created) ctx.log.info(fields, 'endpoint created');
  else ctx.log.debug(fields, 'endpoint create repeated: returning the existing one');
  return result;
}

async function tryCreate(ctx: Ctx, tenant: string, network: string, spec: EndpointSpec, attempt: number): Promise<CreateResult | typeof RETRY> {
  const { store } = ctx;
  const net = await requireNetwork(store, tenant, network);
  const existing = await store.get(keys.endpoint(spec.id));
  if (existing) return { endpoint: sameOrThrow(JSON.parse(existing.value) as Endpoint, net.obj, spec), created: false };
  const host = spec.host === undefined ? undefined : await requireHost(store, spec.host);
  const guards = [await readGuard(store, internalKeys.deleting('network', net.obj.id))];
  if (spec.host) guards.push(await readGuard(store, internalKeys.deleting('host', spec.host)));
  if (guards.some((g) => g.active)) {
    await sleep(25);
    return RETRY;
  }
  const picked = await pickAddress(store, net.obj, spec.ip, attempt);
  const endpoint = newEndpoint(net.obj, spec, formatIp(picked.ip));
  if ((await checkMacAndName(store, net.obj, spec, endpoint)) === RETRY) return RETRY;
  const compares: Compare[] = [
    { key: keys.network(tenant, network), modRevision: net.kv.modRevision },
    ...(host ? [{ key: keys.host(host.obj.name), modRevision: host.kv.modRevision }] : []),
    ...guards.map((g: GuardState) => g.compare),
  ];
  const { compares: own, ops } = endpointWrites(net.obj, endpoint, picked, spec.ip === undefined);
  const res = await store.txn([...compares, ...own], ops);
  return res.ok ? { endpoint, created: true } : RETRY;
}

/** Compares and ops that write a new endpoint with its reservation, MAC key and name key. */
function endpointWrites(net: Network, ep: Endpoint, picked: Picked, automatic: boolean): { compares: Compare[]; ops: Op[] } {
  const addrKey = keys.addr(net.id, picked.ip);
  const r = reservation(picked.ip, { kind: 'endpoint', id: ep.id }, ep.createdAt);
  const compares: Compare[] = [
    { key: addrKey, modRevision: picked.claim?.modRevision ?? 0 },
    { key: keys.endpoint(ep.id), modRevision: 0 },
    { key: keys.mac(net.id, ep.mac), modRevision: 0 },
  ];
  const ops: Op[] = [
    { type: 'put', key: addrKey, value: encode(r) },
    { type: 'put', key: keys.endpoint(ep.id), value: encode(ep) },
    { type: 'put', key: keys.mac(net.id, ep.mac), value: ep.id },
  ];
  if (ep.name) {
    compares.push({ key: keys.epName(net.id, ep.name), modRevision: 0 });
    ops.push({ type: 'put', key: keys.epName(net.id, ep.name), value: ep.id });
  }
  if (automatic) ops.push(cursorPut(net, picked.ip));
  return { compares, ops };
}

/**
 * Refuses a MAC that is the gateway's, derived-style (0a:58:…, the range of automatic MACs)
 * but not this address's, or another endpoint's; and a name another endpoint has.
 * A derived MAC held by another endpoint that also holds the address means a concurrent
 * create took the address after it was picked: that is an address clash, and the create
 * retries with another address (RETRY), as when its txn's address compare fails.
 */
async function checkMacAndName(store: Store, net: Network, spec: EndpointSpec, ep: Endpoint): Promise<void | typeof RETRY> {
  if (spec.mac !== undefined) {
    if (spec.mac === gatewayMac(net.vni)) throw new TenetError('MAC_IN_USE', `MAC ${spec.mac} is the gateway MAC of network ${net.name}`, 'pick another MAC, or leave it out');
    if (spec.mac.startsWith('0a:58:') && spec.mac !== endpointMac(ep.ip)) {
      throw new TenetError('MAC_IN_USE', `MAC ${spec.mac} is in the range Tenet derives from addresses (0a:58:…)`, 'pick a MAC outside 0a:58:…, e.g. 02:00:00:00:00:05, or leave it out');
    }
  }
  const macHolder = await store.get(keys.mac(net.id, ep.mac));
  if (macHolder && spec.mac === undefined && (await addressTakenBy(store, net, ep.ip, macHolder.value))) return RETRY;
  if (macHolder) throw new TenetError('MAC_IN_USE', `MAC ${ep.mac} is used by endpoint ${macHolder.value} of network ${net.name}`, 'pick another MAC, or leave it out');
  const nameHolder = ep.name ? await store.get(keys.epName(net.id, ep.name)) : undefined;
  if (nameHolder) {
    throw new TenetError('ENDPOINT_NAME_IN_USE', `endpoint ${nameHolder.value} of network ${net.tenant}/${net.name} is named ${ep.name} already`, 'pick another name, or delete that endpoint first');
  }
}

/** Whether the address is reserved by the endpoint `holder` (a concurrent create's). */
async function addressTakenBy(store: Store, net: Network, ip: string, holder: string): Promise<boolean> {
  const kv = await store.get(keys.addr(net.id, parseIp(ip)!));
  return kv !== undefined && parseReservation(kv).owner.id === holder;
}

function newEndpoint(net: Network, spec: EndpointSpec, ip: string): Endpoint {
  const now = nowIso();
  const ep: Endpoint = {
    id: spec.id,
    tenant: net.tenant,
    network: net.name,
    networkId: net.id,
    labels: spec.labels,
    mac: spec.mac ?? endpointMac(ip),
    ip,
    prefixLen: Number(net.subnet.split('/')[1]),
    gateway: net.gateway,
    status: spec.attachment ? 'pending' : 'detached',
    createdAt: now,
    updatedAt: now,
  };
  if (spec.name) ep.name = spec.name;
  if (spec.host) ep.host = spec.host;
  if (spec.attachment) ep.attachment = spec.attachment;
  return ep;
}

/** A repeated create must ask for the same thing; anything else is a clash of ids. */
function sameOrThrow(ep: Endpoint, net: Network, spec: EndpointSpec): Endpoint {
  const same =
    ep.networkId === net.id &&
    (spec.host === undefined || ep.host === spec.host) &&
    (spec.attachment === undefined || sameAttachment(ep.attachment, spec.attachment)) &&
    (spec.ip === undefined || ep.ip === formatIp(spec.ip)) &&
    (spec.mac === undefined || ep.mac === spec.mac) &&
    (spec.name === undefined || ep.name === spec.name);
  if (same) return ep;
  const where = ep.attachment?.kind === 'netns' ? `, netns ${ep.attachment.netns}` : '';
  throw new TenetError(
    'ENDPOINT_EXISTS',
    `endpoint ${ep.id} exists already on host ${ep.host ?? '(none)'} (network ${ep.tenant}/${ep.network}${where})`,
    'use another id, or delete the existing endpoint first',
  );
}
