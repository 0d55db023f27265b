/**
 * What concerns a host (issue 6, ADR 011): the one definition of a host's view, as a pure
 * function over every object. The fan-out (fanout-index.ts, fanout-batch.ts) computes the
 * same view incrementally; its test checks it against this function on random histories.
 *
 * T(H): the tenants with at least one endpoint whose `host` is H (attached or not).
 * H's view: its own Host object; every object of every tenant in T(H) (driven by the kind
 * registry, so later kinds such as policies follow); and every Host G that shares a tenant
 * with H (G's endpoints are where H's VXLAN FDB and neighbour entries point).
 */
import { KIND_NAMES, kindDecl } from '../model/kinds.js';
import type { AnyObject, ObjectKind } from '../model/types.js';

export type AllObjects = { [K in ObjectKind]?: AnyObject[] };

/** The host an object belongs to, if any: the host that reports on it (status, heartbeats). */
export function ownerHost(kind: ObjectKind, o: AnyObject): string | undefined {
  if (kind === 'host') return kindDecl(kind).id(o);
  const host = (o as { host?: unknown }).host;
  return typeof host === 'string' ? host : undefined;
}

/** Tenants per host: T(H) for every H that has an endpoint. */
export function tenantsByHost(objects: AllObjects): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of objects.endpoint ?? []) {
    const host = ownerHost('endpoint', o);
    const tenant = kindDecl('endpoint').tenant(o);
    if (host === undefined || tenant === undefined) continue;
    if (!out.has(host)) out.set(host, new Set());
    out.get(host)!.add(tenant);
  }
  return out;
}

/** H's view as "kind/id" strings (brute force: every object is looked at). */
export function hostView(host: string, objects: AllObjects): Set<string> {
  const byHost = tenantsByHost(objects);
  const mine = byHost.get(host) ?? new Set<string>();
  const view = new Set<string>();
  for (const kind of KIND_NAMES) {
    const decl = kindDecl(kind);
    for (const o of objects[kind] ?? []) {
      const tenant = decl.tenant(o);
      const shares = (g: string) => g === host || [...(byHost.get(g) ?? [])].some((t) => mine.has(t));
      const visible = tenant === undefined ? shares(decl.id(o)) : mine.has(tenant);
      if (visible) view.add(`${kind}/${decl.id(o)}`);
    }
  }
  return view;
}
