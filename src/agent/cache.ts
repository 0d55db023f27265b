/**
 * The agent's copy of the objects it lists and watches from the controller: one map per
 * kind of the registry (model/kinds.ts), filled and updated generically, so a new kind
 * needs no code here.
 *
 * Endpoints this agent deletes itself are tombstoned BEFORE the controller is asked to
 * delete them, so their delete event, whenever it arrives, finds the tombstone and ends it:
 * a tombstone never outlives the delete. Until then a late put event from before the delete
 * cannot bring the port back. A tombstone names the generation (createdAt) it buries, so a
 * put of an endpoint re-created under the same id (a CNI retry) is never mistaken for a late
 * one, even if the delete event was somehow missed.
 *
 * Indexes (grouped.ts) find one tenant's networks and endpoints, and one host's endpoints,
 * without a walk of the whole cache: a reconcile of the tenants an attach touched plans from
 * those tenants' objects only (scopeOf). Every write goes through put/drop, which keep them
 * in step with the maps; the maps are read-only outside this class.
 */
import type { Snapshot, WatchMessage } from '../api/types.js';
import { KIND_NAMES, kindDecl } from '../model/kinds.js';
import type { AnyObject, Endpoint, Host, KindObjects, Network, ObjectKind, Tenant } from '../model/types.js';
import type { Policy } from '../model/policy.js';
import { Grouped } from './grouped.js';

export interface Change {
  kind: ObjectKind;
  /** Tenant touched by the change; undefined when every tenant may be affected (hosts). */
  tenant?: string;
}

type KindMaps = { [K in ObjectKind]: Map<string, KindObjects[K]> };

/** What a plan of some tenants is made from (datapath/plan.ts PlanInput). */
export interface Scope {
  networks: Network[];
  /** Every endpoint of the tenants, on any host: remote ones become FDB and neighbour entries. */
  endpoints: Endpoint[];
  /** The hosts those endpoints are on (their VTEPs). */
  hosts: Host[];
}

/** Key of the index of one host's endpoints of one tenant (neither name can hold a newline). */
const hostTenant = (host: string, tenant: string): string => `${host}\n${tenant}`;

export class ObjectCache {
  revision = 0;
  private readonly objects: KindMaps = Object.fromEntries(KIND_NAMES.map((k) => [k, new Map()])) as unknown as KindMaps;
  /** Endpoint id → createdAt of the generation being deleted. */
  private readonly tombstones = new Map<string, string>();
  private readonly endpointsByTenant = new Grouped<Endpoint>((e) => e.tenant);
  private readonly endpointsByHost = new Grouped<Endpoint>((e) => e.host);
  private readonly endpointsByHostTenant = new Grouped<Endpoint>((e) => (e.host === undefined ? undefined : hostTenant(e.host, e.tenant)));
  private readonly networksByTenant = new Grouped<Network>((n) => n.tenant);
  /** The indexes of each kind, updated with its map. */
  private readonly indexes: { [K in ObjectKind]?: Grouped<KindObjects[K]>[] } = {
    endpoint: [this.endpointsByTenant, this.endpointsByHost, this.endpointsByHostTenant],
    network: [this.networksByTenant],
  };

  get tenants(): ReadonlyMap<string, Tenant> {
    return this.objects.tenant;
  }
  get networks(): ReadonlyMap<string, Network> {
    return this.objects.network;
  }
  get endpoints(): ReadonlyMap<string, Endpoint> {
    return this.objects.endpoint;
  }
  get hosts(): ReadonlyMap<string, Host> {
    return this.objects.host;
  }
  get policies(): ReadonlyMap<string, Policy> {
    return this.objects.policy;
  }

  /** Endpoints of one host (all tenants, or one). */
  endpointsOn(host: string, tenant?: string): ReadonlyMap<string, Endpoint> {
    return tenant === undefined ? this.endpointsByHost.get(host) : this.endpointsByHostTenant.get(hostTenant(host, tenant));
  }

  /** Tenants with an endpoint on `host`: what a full reconcile of that host covers. */
  tenantsOn(host: string): Set<string> {
    return new Set([...this.endpointsOn(host).values()].map((e) => e.tenant));
  }

  /** The objects a plan of `tenants` needs; costs what those tenants hold, not the cache. */
  scopeOf(tenants: Iterable<string>): Scope {
    const networks: Network[] = [];
    const endpoints: Endpoint[] = [];
    for (const t of tenants) {
      networks.push(...this.networksByTenant.get(t).values());
      endpoints.push(...this.endpointsByTenant.get(t).values());
    }
    const names = new Set(endpoints.flatMap((e) => (e.host === undefined ? [] : [e.host])));
    const hosts = [...names].flatMap((n) => this.objects.host.get(n) ?? []);
    return { networks, endpoints, hosts };
  }

  /** Index groups held now (tests check that a forgotten tenant leaves none behind). */
  get indexGroups(): number {
    return this.endpointsByTenant.size + this.endpointsByHost.size + this.endpointsByHostTenant.size + this.networksByTenant.size;
  }

  reset(snap: Snapshot): void {
    this.revision = snap.revision;
    for (const kind of KIND_NAMES) {
      this.map(kind).clear();
      for (const index of this.indexesOf(kind)) index.clear();
      const decl = kindDecl(kind);
      for (const o of (snap.objects[kind] ?? []) as AnyObject[]) this.put(kind, decl.id(o), o);
    }
    this.tombstones.clear();
  }

  /** Applies one watch message; returns what changed in a way the datapath cares about. */
  apply(m: WatchMessage): Change | undefined {
    this.revision = Math.max(this.revision, m.revision);
    if (m.type !== 'put' && m.type !== 'delete') return undefined; // bookmark, compacted, synced, resync
    const map = this.map(m.kind);
    if (!map) return undefined; // a kind this agent does not know yet (a newer controller)
    const decl = kindDecl(m.kind);
    const id = decl.id(m.object);
    const put = m.type === 'put';
    if (m.kind === 'endpoint' && this.buried(id, m.object as Endpoint, put)) return undefined;
    const before = map.get(id);
    if (put) this.put(m.kind, id, m.object);
    else this.drop(m.kind, id);
    if (!decl.realized) return undefined;
    const same = put && before !== undefined && decl.realized(before) === decl.realized(m.object);
    return same ? undefined : { kind: m.kind, tenant: decl.tenant(m.object) };
  }

  putLocalEndpoint(e: Endpoint): void {
    this.put('endpoint', e.id, e);
  }

  /**
   * Call before asking the controller to delete an endpoint: drops it and tombstones it
   * (`known`: the endpoint as read from the controller, when the watch has not brought it
   * yet). Returns an undo for when the delete fails.
   */
  forgetLocalEndpoint(id: string, known?: Endpoint): () => void {
    const e = this.endpoints.get(id) ?? known;
    this.drop('endpoint', id);
    if (e) this.tombstones.set(id, e.createdAt);
    return () => {
      if (!e || this.tombstones.get(id) !== e.createdAt) return;
      this.tombstones.delete(id);
      this.put('endpoint', id, e);
    };
  }

  /** Tombstones held now (tests check that none outlives its delete). */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** True when the event is about a generation this agent deleted: ignore it. */
  private buried(id: string, e: Endpoint, put: boolean): boolean {
    const generation = this.tombstones.get(id);
    if (generation === undefined) return false;
    if (put && generation === e.createdAt) return true; // a late put of the buried generation
    this.tombstones.delete(id); // its delete arrived, or a new generation did: either ends it
    return !put && generation === e.createdAt; // that delete: the endpoint is gone here already
  }

  /** The one way an object enters the cache: its map and its kind's indexes. */
  private put(kind: ObjectKind, id: string, o: AnyObject): void {
    const map = this.map(kind);
    const before = map.get(id);
    for (const index of this.indexesOf(kind)) {
      if (before !== undefined) index.remove(id, before);
      index.add(id, o);
    }
    map.set(id, o);
  }

  /** The one way an object leaves the cache. */
  private drop(kind: ObjectKind, id: string): void {
    const map = this.map(kind);
    const before = map.get(id);
    if (before === undefined) return;
    map.delete(id);
    for (const index of this.indexesOf(kind)) index.remove(id, before);
  }

  private map(kind: ObjectKind): Map<string, AnyObject> {
    return this.objects[kind] as Map<string, AnyObject>;
  }

  private indexesOf(kind: ObjectKind): Grouped<AnyObject>[] {
    return (this.indexes[kind] ?? []) as Grouped<AnyObject>[];
  }
}
