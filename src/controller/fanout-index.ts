/**
 * The fan-out's in-memory index of every distributed object (issue 6, ADR 011): each
 * object's put line (its value spliced once, watch-lines.ts), and the relations the
 * interest of a host is made of (interest.ts): the objects of each tenant, and how many
 * endpoints each tenant has on each host, both ways. Every question the fan-out asks is
 * then a lookup, never a scan of all objects or all hosts.
 */
import { kindDecl } from '../model/kinds.js';
import type { ObjectKind } from '../model/types.js';
import { ownerHost } from './interest.js';
import { eventLine, linePrefix } from './watch-lines.js';

export interface Entry {
  key: string;
  kind: ObjectKind;
  id: string;
  /** Tenant of a tenant-scoped object; undefined for hosts. */
  tenant?: string;
  /** The host the object belongs to (a host itself, an endpoint's host). */
  owner?: string;
  /** The kind's realized projection; undefined for a kind without one (always forwarded). */
  realized?: string;
  modRevision: number;
  /** Revision of the last put that changed the realized projection (what hosts had to act on). */
  realizedAt: number;
  /** The object's put line at its modRevision; the value sits from `at` to the closing `}\n`. */
  line: string;
  at: number;
}

export const valueOf = (e: Entry): string => e.line.slice(e.at, -2);

/** Parses a stored value once, for everything the fan-out needs to know about it. */
export function entryOf(kind: ObjectKind, key: string, value: string, modRevision: number): Entry {
  const decl = kindDecl(kind);
  const obj = JSON.parse(value) as never;
  const line = eventLine('put', kind, modRevision, value);
  return { key, kind, id: decl.id(obj), tenant: decl.tenant(obj), owner: ownerHost(kind, obj), realized: decl.realized?.(obj), modRevision, realizedAt: modRevision, line, at: linePrefix('put', kind, modRevision).length };
}

type Counts = Map<string, Map<string, number>>;

export class FanoutIndex {
  readonly byKey = new Map<string, Entry>();
  readonly hosts = new Map<string, Entry>();
  private readonly tenantKeys = new Map<string, Set<string>>();
  /** tenant → host → endpoints of the tenant on the host; and host → tenant → the same. */
  private readonly hostsOfTenant: Counts = new Map();
  private readonly tenantsOfHost: Counts = new Map();

  set(e: Entry): Entry | undefined {
    const prev = this.remove(e.key);
    this.byKey.set(e.key, e);
    if (e.tenant === undefined) this.hosts.set(e.id, e);
    else add(this.tenantKeys, e.tenant, e.key);
    if (e.kind === 'endpoint' && e.tenant !== undefined && e.owner !== undefined) {
      bump(this.hostsOfTenant, e.tenant, e.owner, 1);
      bump(this.tenantsOfHost, e.owner, e.tenant, 1);
    }
    return prev;
  }

  remove(key: string): Entry | undefined {
    const e = this.byKey.get(key);
    if (!e) return undefined;
    this.byKey.delete(key);
    if (e.tenant === undefined) this.hosts.delete(e.id);
    else drop(this.tenantKeys, e.tenant, key);
    if (e.kind === 'endpoint' && e.tenant !== undefined && e.owner !== undefined) {
      bump(this.hostsOfTenant, e.tenant, e.owner, -1);
      bump(this.tenantsOfHost, e.owner, e.tenant, -1);
    }
    return e;
  }

  /** T(H): the tenants with an endpoint on the host. */
  tenantsOf(host: string): Set<string> {
    return new Set(this.tenantsOfHost.get(host)?.keys() ?? []);
  }

  hostsWith(tenant: string): Iterable<string> {
    return this.hostsOfTenant.get(tenant)?.keys() ?? [];
  }

  /** Every object of the tenant (the tenant itself, its networks, its endpoints, ...). */
  *entriesOf(tenant: string): Iterable<Entry> {
    for (const key of this.tenantKeys.get(tenant) ?? []) yield this.byKey.get(key)!;
  }

  /** Host names H knows: itself and every host sharing one of its tenants (with or without a Host object). */
  knownHosts(host: string, tenants = this.tenantsOf(host)): Set<string> {
    const out = new Set([host]);
    for (const t of tenants) for (const g of this.hostsWith(t)) out.add(g);
    return out;
  }

  /** H's view now: the put lines of every object it must hold. */
  *viewOf(host: string): Iterable<Entry> {
    const tenants = this.tenantsOf(host);
    for (const g of this.knownHosts(host, tenants)) {
      const e = this.hosts.get(g);
      if (e) yield e;
    }
    for (const t of tenants) yield* this.entriesOf(t);
  }
}

function add(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function drop(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  s?.delete(v);
  if (s?.size === 0) m.delete(k);
}

function bump(m: Counts, a: string, b: string, by: number): void {
  let inner = m.get(a);
  if (!inner) m.set(a, (inner = new Map()));
  const n = (inner.get(b) ?? 0) + by;
  if (n > 0) inner.set(b, n);
  else inner.delete(b);
  if (inner.size === 0) m.delete(a);
}
