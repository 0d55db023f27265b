/**
 * The objects not yet realized everywhere, for GET /v1/status: the rule of each object's own
 * realization (GET /v1/endpoints/:id/realized, GET .../policies/:name, which use liveness.ts's
 * realizedOn) applied to every endpoint and policy at once, at a bounded cost: the lowest
 * realized revision of each group of hosts (a tenant's carriers on one underlay) is computed
 * once, so the whole pass is O(objects + tenants × hosts); host names are spelled out for the
 * first `limit` objects only.
 *
 * Two departures from the per-object answers, both "nothing to wait for": an endpoint placed
 * on no host (or on a host that is gone) and a policy of a tenant no host carries are not
 * counted as unrealized (the per-object answers say realized: false for them, having no host).
 */
import type { UnrealizedObject } from '../api/types.js';
import { keys } from '../model/keys.js';
import type { Endpoint, Host, Network } from '../model/types.js';
import type { Policy } from '../model/policy.js';
import type { KeyValue, Store } from '../store/types.js';
import type { RealizationIndex } from './endpoints.js';
import { realizedOn, type Liveness } from './liveness.js';

export interface Unrealized {
  endpoints: number;
  policies: number;
  first: UnrealizedObject[];
}

/** What a pass needs, read once. */
interface Scene {
  hosts: Map<string, Host>;
  life: Map<string, Liveness>;
  index: RealizationIndex;
}

export async function unrealizedObjects(store: Store, life: Map<string, Liveness>, index: RealizationIndex, limit: number): Promise<Unrealized> {
  const [hosts, eps, pols, nets] = await Promise.all([store.list(keys.hosts()), store.list(keys.endpoints()), store.list(keys.policies()), store.list(keys.networks())]);
  const scene: Scene = { hosts: new Map(hosts.items.map((kv) => [parse<Host>(kv).name, parse<Host>(kv)])), life, index };
  const out: Unrealized = { endpoints: 0, policies: 0, first: [] };
  const lowest = lowestRealized(scene);
  const sent = (kv: KeyValue) => Math.min(kv.modRevision, index.realizedAt(kv.key) ?? kv.modRevision);
  for (const kv of eps.items) {
    const ep = parse<Endpoint>(kv);
    const underlay = ep.host === undefined ? undefined : scene.hosts.get(ep.host)?.underlay;
    if (ep.host === undefined || underlay === undefined) continue;
    const revision = sent(kv);
    if (Math.min(lowest(ep.tenant, underlay), realizedBy(scene, ep.host)) >= revision) continue;
    out.endpoints++;
    if (out.first.length < limit) out.first.push(behind(scene, 'endpoint', ep.id, ep.tenant, revision, [...concerned(scene, ep.tenant, underlay), ep.host]));
  }
  const attachedTo = networksByPolicy(nets.items);
  const lowestOfTenant = new Map<string, number>();
  for (const kv of pols.items) {
    const p = parse<Policy>(kv);
    const carriers = [...index.carriers(p.tenant)];
    if (carriers.length === 0) continue;
    const revision = Math.max(sent(kv), ...(attachedTo.get(`${p.tenant}/${p.name}`) ?? []).map(sent));
    const low = lowestOfTenant.get(p.tenant) ?? Math.min(...carriers.map((h) => realizedBy(scene, h)));
    lowestOfTenant.set(p.tenant, low);
    if (low >= revision) continue;
    out.policies++;
    if (out.first.length < limit) out.first.push(behind(scene, 'policy', `${p.tenant}/${p.name}`, p.tenant, revision, carriers));
  }
  return out;
}

const parse = <T>(kv: KeyValue): T => JSON.parse(kv.value) as T;

/** The revision a host has realized; -1 when it is down (it never has: nobody knows its kernel). */
function realizedBy(scene: Scene, host: string): number {
  const l = scene.life.get(host);
  return l?.state === 'up' ? (l.realizedRevision ?? 0) : -1;
}

/** The hosts of an underlay that carry a tenant (ADR 011: the hosts sent its objects). */
function concerned(scene: Scene, tenant: string, underlay: string): string[] {
  return [...scene.index.carriers(tenant)].filter((h) => scene.hosts.get(h)?.underlay === underlay);
}

/** Lowest realized revision of a tenant's carriers on an underlay, memoized per pair. */
function lowestRealized(scene: Scene): (tenant: string, underlay: string) => number {
  const memo = new Map<string, number>();
  return (tenant, underlay) => {
    const key = `${tenant}\n${underlay}`;
    let low = memo.get(key);
    if (low === undefined) {
      low = Math.min(Infinity, ...concerned(scene, tenant, underlay).map((h) => realizedBy(scene, h)));
      memo.set(key, low);
    }
    return low;
  };
}

function behind(scene: Scene, kind: UnrealizedObject['kind'], id: string, tenant: string, revision: number, hosts: string[]): UnrealizedObject {
  const late = realizedOn(new Set(hosts), scene.life, revision).filter((h) => !h.realized).map((h) => h.host).sort();
  return { kind, id, tenant, revision, behind: late.length, hosts: late.slice(0, 10) };
}

/** tenant/policy → the networks it is attached to (their changes are part of what hosts enforce). */
function networksByPolicy(nets: KeyValue[]): Map<string, KeyValue[]> {
  const out = new Map<string, KeyValue[]>();
  for (const kv of nets) {
    const n = parse<Network>(kv);
    for (const name of n.policies ?? []) out.set(`${n.tenant}/${name}`, [...(out.get(`${n.tenant}/${name}`) ?? []), kv]);
  }
  return out;
}
