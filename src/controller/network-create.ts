/**
 * Network creation: validation, the per-tenant overlap check and VNI allocation.
 *
 * Everything is written in one txn: the network object, its VNI key (create-if-absent, so
 * two controllers can never hand out one VNI), its gateway's address reservation and the
 * tenant's network-generation key. The
 * generation key serializes network creates within a tenant, so two concurrent creates of
 * overlapping subnets cannot both pass the overlap check: the second one's txn fails, it
 * re-reads, and then sees the first. Network creates are rare, so this costs nothing.
 *
 * VNIs: a requested VNI may be anything in 1..16777215 that is free. Allocated VNIs are the
 * lowest free one from 4096 upward, which leaves 1..4095 for operators to assign by hand
 * (e.g. to mirror VLAN ids) without ever colliding with an automatic one.
 */
import { formatCidr, overlaps, parseCidr, parseIp, type Cidr } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Network } from '../model/types.js';
import { MAX_VNI, resolveGateway, validateMtu, validateName, validateSubnet, validateVni } from '../model/validate.js';
import type { Op, Store } from '../store/types.js';
import { reservation } from './ipam.js';
import { bodyObject } from './body.js';
import { requireTenant } from './lookups.js';
import { encode, internalKeys, listObjs, newId, nowIso, retrying, RETRY, type Ctx } from './repo.js';

export const FIRST_AUTO_VNI = 4096;

interface NetworkSpec {
  name: string;
  subnet: Cidr;
  gateway: string;
  mtu: number;
  vni?: number;
}

/** The value of a VNI key: who holds it, for VNI_IN_USE messages. */
interface VniHolder {
  tenant: string;
  network: string;
}

function parseSpec(body: unknown): NetworkSpec {
  const b = bodyObject(body);
  const name = validateName('network', b.name);
  const subnet = validateSubnet(b.subnet);
  return { name, subnet, gateway: resolveGateway(subnet, b.gateway), mtu: validateMtu(b.mtu), vni: validateVni(b.vni) };
}

export async function createNetwork(ctx: Ctx, tenantName: string, body: unknown): Promise<Network> {
  const spec = parseSpec(body);
  const net = await retrying(`create network ${spec.name}`, async () => {
    const tenant = await requireTenant(ctx.store, tenantName);
    const genKey = internalKeys.networkGen(tenant.obj.id);
    const gen = await ctx.store.get(genKey);
    const peers = (await listObjs<Network>(ctx.store, keys.networksOf(tenantName))).items;
    checkNoClash(tenantName, spec, peers);
    const vni = spec.vni ?? (await lowestFreeVni(ctx.store));
    if (spec.vni !== undefined) await checkVniFree(ctx.store, spec.vni);
    const network: Network = {
      id: newId(),
      tenant: tenantName,
      name: spec.name,
      subnet: formatCidr(spec.subnet),
      gateway: spec.gateway,
      mtu: spec.mtu,
      vni,
      createdAt: nowIso(),
    };
    const netKey = keys.network(tenantName, spec.name);
    const holder: VniHolder = { tenant: tenantName, network: spec.name };
    const res = await ctx.store.txn(
      [
        { key: keys.tenant(tenantName), modRevision: tenant.kv.modRevision },
        { key: genKey, modRevision: gen?.modRevision ?? 0 },
        { key: netKey, modRevision: 0 },
        { key: keys.vni(vni), modRevision: 0 },
      ],
      [
        { type: 'put', key: genKey, value: network.id },
        { type: 'put', key: netKey, value: encode(network) },
        { type: 'put', key: keys.vni(vni), value: encode(holder) },
        gatewayReservation(network),
      ],
    );
    return res.ok ? network : RETRY;
  });
  ctx.log.info({ tenant: tenantName, network: net.name, networkId: net.id, subnet: net.subnet, vni: net.vni }, 'network created');
  return net;
}

/** The gateway's address is reserved like any other, so no search ever has to skip it. */
function gatewayReservation(net: Network): Op {
  const ip = parseIp(net.gateway)!;
  return { type: 'put', key: keys.addr(net.id, ip), value: encode(reservation(ip, { kind: 'gateway', id: net.id }, net.createdAt)) };
}

function checkNoClash(tenant: string, spec: NetworkSpec, peers: Network[]): void {
  if (peers.some((p) => p.name === spec.name)) {
    throw new TenetError('NETWORK_EXISTS', `tenant ${tenant} has a network named ${spec.name} already`, 'pick another name');
  }
  const other = peers.find((p) => overlaps(parseCidr(p.subnet)!, spec.subnet));
  if (other) {
    throw new TenetError(
      'SUBNET_OVERLAP',
      `subnet ${formatCidr(spec.subnet)} overlaps network ${other.name} (${other.subnet}) of tenant ${tenant}`,
      'pick a subnet that does not overlap it (other tenants may reuse it freely)',
    );
  }
}

async function checkVniFree(store: Store, vni: number): Promise<void> {
  const kv = await store.get(keys.vni(vni));
  if (!kv) return;
  const holder = JSON.parse(kv.value) as VniHolder;
  throw new TenetError('VNI_IN_USE', `VNI ${vni} belongs to network ${holder.network} of tenant ${holder.tenant}`, 'pick another VNI or leave it out to allocate one');
}

async function lowestFreeVni(store: Store): Promise<number> {
  const prefix = internalKeys.vnis();
  const used = new Set((await store.list(prefix)).items.map((kv) => Number(kv.key.slice(prefix.length))));
  for (let vni = FIRST_AUTO_VNI; vni <= MAX_VNI; vni++) if (!used.has(vni)) return vni;
  throw new TenetError('VNI_IN_USE', `every VNI from ${FIRST_AUTO_VNI} to ${MAX_VNI} is in use`, 'delete unused networks');
}
