/**
 * The agent's copy of the objects it lists and watches from the controller. Endpoints this
 * agent deletes itself are tombstoned until their delete event arrives, so a late put event
 * from before the delete can never bring a detached port back.
 */
import type { Snapshot, WatchMessage } from '../api/types.js';
import type { Endpoint, Host, Network, Tenant } from '../model/types.js';

export interface Change {
  kind: 'tenant' | 'network' | 'endpoint' | 'host';
  /** Tenant touched by the change; undefined when every tenant may be affected (hosts). */
  tenant?: string;
}

export class ObjectCache {
  revision = 0;
  readonly tenants = new Map<string, Tenant>();
  readonly networks = new Map<string, Network>();
  readonly endpoints = new Map<string, Endpoint>();
  readonly hosts = new Map<string, Host>();
  private readonly tombstones = new Set<string>();

  reset(snap: Snapshot): void {
    this.revision = snap.revision;
    fill(this.tenants, snap.tenants, (t) => t.name);
    fill(this.networks, snap.networks, (n) => n.id);
    fill(this.endpoints, snap.endpoints, (e) => e.id);
    fill(this.hosts, snap.hosts, (h) => h.name);
    this.tombstones.clear();
  }

  /** Applies one watch message; returns what changed in a way the datapath cares about. */
  apply(m: WatchMessage): Change | undefined {
    if (m.type === 'bookmark' || m.type === 'compacted') {
      this.revision = Math.max(this.revision, m.revision);
      return undefined;
    }
    this.revision = Math.max(this.revision, m.revision);
    const put = m.type === 'put';
    switch (m.kind) {
      case 'tenant':
        this.set(this.tenants, (m.object as Tenant).name, m.object as Tenant, put);
        return undefined;
      case 'network': {
        const n = m.object as Network;
        this.set(this.networks, n.id, n, put);
        return { kind: 'network', tenant: n.tenant };
      }
      case 'endpoint':
        return this.applyEndpoint(m.object as Endpoint, put);
      case 'host':
        return this.applyHost(m.object as Host, put);
    }
  }

  putLocalEndpoint(e: Endpoint): void {
    this.endpoints.set(e.id, e);
  }

  forgetLocalEndpoint(id: string): void {
    this.endpoints.delete(id);
    this.tombstones.add(id);
  }

  private applyEndpoint(e: Endpoint, put: boolean): Change | undefined {
    if (!put) this.tombstones.delete(e.id);
    if (put && this.tombstones.has(e.id)) return undefined;
    const before = this.endpoints.get(e.id);
    this.set(this.endpoints, e.id, e, put);
    const moved = before && (before.mac !== e.mac || before.ip !== e.ip || before.host !== e.host);
    const datapathRelevant = !put || !before || moved || before.netns !== e.netns;
    return datapathRelevant ? { kind: 'endpoint', tenant: e.tenant } : undefined;
  }

  /** Heartbeats change lastSeen only: they must not make every agent reconcile. */
  private applyHost(h: Host, put: boolean): Change | undefined {
    const before = this.hosts.get(h.name);
    this.set(this.hosts, h.name, h, put);
    if (put && before && before.vtep === h.vtep) return undefined;
    return { kind: 'host' };
  }

  private set<T>(map: Map<string, T>, key: string, value: T, put: boolean): void {
    if (put) map.set(key, value);
    else map.delete(key);
  }
}

function fill<T>(map: Map<string, T>, items: T[], key: (t: T) => string): void {
  map.clear();
  for (const item of items) map.set(key(item), item);
}
