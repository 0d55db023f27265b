/**
 * The one registry of object kinds (ADR 005). Each kind the controller distributes to agents
 * is declared once here: where its objects live in the store, how one is named, which tenant
 * it belongs to, and what of it a host realizes. Store keys (keys.ts), the snapshot and watch
 * messages (controller) and the agent's cache are all driven by this table, so a new kind
 * (policy, floating IP, DNS record) is one line in KindObjects and one declaration here.
 */
import type { Policy } from './policy.js';
import type { Endpoint, Host, KindObjects, Network, ObjectKind, Tenant } from './types.js';

export const ROOT = '/tenet/';

export interface KindDecl<T> {
  /** Key prefix of the kind, under ROOT: every object of the kind and nothing else. */
  prefix: string;
  /** The object's store key (it starts with prefix). */
  key(o: T): string;
  /** The object's identity in a cache (unique within the kind). */
  id(o: T): string;
  /** Tenant the object belongs to; undefined when a change may matter to every tenant. */
  tenant(o: T): string | undefined;
  /**
   * What a host realizes from the object, as a comparable string: a change that leaves it
   * equal needs no reconcile (heartbeats, status reports). Absent: the kind never does.
   */
  realized?(o: T): string;
}

export type KindRegistry = { [K in ObjectKind]: KindDecl<KindObjects[K]> };

export const KINDS: KindRegistry = {
  tenant: {
    prefix: `${ROOT}tenants/`,
    key: (t: Tenant) => `${KINDS.tenant.prefix}${t.name}`,
    id: (t) => t.name,
    tenant: (t) => t.name,
  },
  network: {
    prefix: `${ROOT}networks/`,
    key: (n: Network) => `${KINDS.network.prefix}${n.tenant}/${n.name}`,
    id: (n) => n.id,
    tenant: (n) => n.tenant,
    // The whole network: its policies (issue 7) are updated in place, and a host enforces them.
    realized: (n) => JSON.stringify(n),
  },
  endpoint: {
    prefix: `${ROOT}endpoints/`,
    key: (e: Endpoint) => `${KINDS.endpoint.prefix}${e.id}`,
    id: (e) => e.id,
    tenant: (e) => e.tenant,
    // Labels too: group: selectors of policies (issue 7) match them, so a label change is enforced.
    // Published ports (ADR 016): only their host acts on them, but it must hear of a change.
    // The name: DNS (issue 10) answers it on every host of the tenant, and it may change (PUT .../name).
    realized: (e) => JSON.stringify([e.host ?? '', e.mac, e.ip, e.attachment ?? null, e.labels ?? {}, e.ports ?? [], e.name ?? '']),
  },
  host: {
    prefix: `${ROOT}hosts/`,
    key: (h: Host) => `${KINDS.host.prefix}${h.name}`,
    id: (h) => h.name,
    tenant: () => undefined,
    realized: (h) => JSON.stringify([h.vtep, h.underlay]),
  },
  policy: {
    prefix: `${ROOT}policies/`,
    key: (p: Policy) => `${KINDS.policy.prefix}${p.tenant}/${p.name}`,
    id: (p) => p.id,
    tenant: (p) => p.tenant,
    // What hosts compile; timestamps are not.
    realized: (p) => JSON.stringify([p.rules, p.rates]),
  },
};

/** Kind names in a fixed order (the order of the snapshot). */
export const KIND_NAMES = Object.keys(KINDS) as ObjectKind[];

/** The declaration of a kind, typed for generic code that handles any kind. */
export function kindDecl(kind: ObjectKind): KindDecl<KindObjects[ObjectKind]> {
  return KINDS[kind] as KindDecl<KindObjects[ObjectKind]>;
}

/** The object kind a key holds, or undefined for allocation and other internal keys. */
export function kindOfKey(key: string): ObjectKind | undefined {
  return KIND_NAMES.find((k) => key.startsWith(KINDS[k].prefix));
}
