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
 */
import type { Snapshot, WatchMessage } from '../api/types.js';
import { KIND_NAMES, kindDecl } from '../model/kinds.js';
import type { AnyObject, Endpoint, Host, KindObjects, Network, ObjectKind, Tenant } from '../model/types.js';

export interface Change {
  kind: ObjectKind;
  /** Tenant touched by the change; undefined when every tenant may be affected (hosts). */
  tenant?: string;
}

type KindMaps = { [K in ObjectKind]: Map<string, KindObjects[K]> };

export class ObjectCache {
  revision = 0;
  readonly objects: KindMaps = Object.fromEntries(KIND_NAMES.map((k) => [k, new Map()])) as unknown as KindMaps;
  /** Endpoint id → createdAt of the generation being deleted. */
  private readonly tombstones = new Map<string, string>();

  get tenants(): Map<string, Tenant> {
    return this.objects.tenant;
  }
  get networks(): Map<string, Network> {
    return this.objects.network;
  }
  get endpoints(): Map<string, Endpoint> {
    return this.objects.endpoint;
  }
  get hosts(): Map<string, Host> {
    return this.objects.host;
  }

  reset(snap: Snapshot): void {
    this.revision = snap.revision;
    for (const kind of KIND_NAMES) {
      const map = this.map(kind);
      const decl = kindDecl(kind);
      map.clear();
      for (const o of (snap.objects[kind] ?? []) as AnyObject[]) map.set(decl.id(o), o);
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
    if (put) map.set(id, m.object);
    else map.delete(id);
    if (!decl.realized) return undefined;
    const same = put && before !== undefined && decl.realized(before) === decl.realized(m.object);
    return same ? undefined : { kind: m.kind, tenant: decl.tenant(m.object) };
  }

  putLocalEndpoint(e: Endpoint): void {
    this.endpoints.set(e.id, e);
  }

  /**
   * Call before asking the controller to delete an endpoint: drops it and tombstones it
   * (`known`: the endpoint as read from the controller, when the watch has not brought it
   * yet). Returns an undo for when the delete fails.
   */
  forgetLocalEndpoint(id: string, known?: Endpoint): () => void {
    const e = this.endpoints.get(id) ?? known;
    this.endpoints.delete(id);
    if (e) this.tombstones.set(id, e.createdAt);
    return () => {
      if (!e || this.tombstones.get(id) !== e.createdAt) return;
      this.tombstones.delete(id);
      this.endpoints.set(id, e);
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

  private map(kind: ObjectKind): Map<string, AnyObject> {
    return this.objects[kind] as Map<string, AnyObject>;
  }
}
