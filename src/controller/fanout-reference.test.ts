/**
 * The fan-out against its brute-force reference (issue 6): random histories of writes on a
 * MemoryStore, several host watchers (some connecting mid-history), and after every step
 * each watcher's accumulated view must be what interest.ts computes from the whole store.
 * Objects compare by identity and, for kinds with a realized projection, by that projection
 * (a status-only change is deliberately not sent to other hosts); objects a host owns
 * (its Host, its endpoints) compare whole, since their own host gets every change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { KIND_NAMES, kindDecl, KINDS } from '../model/kinds.js';
import type { AnyObject, ObjectKind } from '../model/types.js';
import { MemoryStore } from '../store/memory.js';
import type { Op } from '../store/types.js';
import { Fanout } from './fanout.js';
import { hostView, ownerHost, type AllObjects } from './interest.js';
import { rng } from '../base/random.js';

const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];
const TENANTS = ['t0', 't1', 't2', 't3'];
const ENDPOINTS = Array.from({ length: 14 }, (_, i) => `e${i}`);

/** A watcher as an agent is one: the lines it got, applied to a map. */
class Viewer {
  view = new Map<string, AnyObject>();
  cancel: () => void;
  constructor(readonly host: string, fanout: Fanout) {
    const sub = fanout.subscribe(host, { write: (lines) => lines.forEach((l) => this.apply(l)), cut: () => assert.fail('cut off') });
    sub.lines.forEach((l) => this.apply(l));
    this.cancel = sub.cancel;
  }
  private apply(line: string): void {
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one message per line');
    const m = JSON.parse(line) as { type: string; kind: ObjectKind; object: AnyObject };
    const id = `${m.kind}/${kindDecl(m.kind).id(m.object)}`;
    if (m.type === 'put') this.view.set(id, m.object);
    else assert.ok(this.view.delete(id), `delete of ${id}, which ${this.host} did not hold`);
  }
}

async function allObjects(store: MemoryStore): Promise<AllObjects> {
  const out: AllObjects = {};
  for (const k of KIND_NAMES) out[k] = (await store.list(KINDS[k].prefix)).items.map((kv) => JSON.parse(kv.value) as AnyObject);
  return out;
}

function expectedView(host: string, all: AllObjects): Map<string, AnyObject> {
  const ids = hostView(host, all);
  const out = new Map<string, AnyObject>();
  for (const k of KIND_NAMES) for (const o of all[k] ?? []) if (ids.has(`${k}/${kindDecl(k).id(o)}`)) out.set(`${k}/${kindDecl(k).id(o)}`, o);
  return out;
}

function assertSameView(v: Viewer, all: AllObjects, where: string): void {
  const want = expectedView(v.host, all);
  assert.deepEqual([...v.view.keys()].sort(), [...want.keys()].sort(), `${where}: ${v.host}'s view holds the wrong objects`);
  for (const [id, o] of want) {
    const kind = id.slice(0, id.indexOf('/')) as ObjectKind;
    const decl = kindDecl(kind);
    const got = v.view.get(id)!;
    if (!decl.realized || ownerHost(kind, o) === v.host) assert.deepEqual(got, o, `${where}: ${v.host}'s ${id}`);
    else assert.equal(decl.realized(got), decl.realized(o), `${where}: ${v.host}'s ${id} (realized)`);
  }
}

/** One random write (or multi-key txn) against the current store. */
function randomOps(r: () => number, all: AllObjects, step: number): Op[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const put = (kind: ObjectKind, o: AnyObject): Op => ({ type: 'put', key: kindDecl(kind).key(o), value: JSON.stringify(o) });
  const del = (kind: ObjectKind, o: AnyObject): Op => ({ type: 'delete', key: kindDecl(kind).key(o) });
  const eps = (all.endpoint ?? []) as { id: string; host?: string; tenant: string; status: string }[];
  // Policies (issue 7): tenant-scoped like networks, so they must reach exactly the hosts of their tenant.
  if (r() < 0.12) return policyOps(r, all, step);
  const roll = r();
  if (roll < 0.08) return [put('tenant', { id: `${step}`, name: pick(TENANTS), createdAt: `${step}` } as AnyObject)];
  if (roll < 0.11 && all.tenant?.length) return [del('tenant', pick(all.tenant))];
  if (roll < 0.18) return [put('network', { id: `n${step}`, tenant: pick(TENANTS), name: pick(['red', 'blue']), vni: step } as unknown as AnyObject)];
  if (roll < 0.21 && all.network?.length) return [del('network', pick(all.network))];
  if (roll < 0.45) {
    const host = r() < 0.15 ? undefined : pick(HOSTS);
    const ep = { id: pick(ENDPOINTS), tenant: pick(TENANTS), network: 'red', mac: `m${step}`, ip: `10.0.0.${step % 250}`, status: 'pending', ...(host ? { host } : {}) };
    return [put('endpoint', ep as unknown as AnyObject)];
  }
  // A label change is realized (policy groups match labels): it reaches every host of the tenant.
  if (roll < 0.5 && eps.length) return [put('endpoint', { ...pick(eps), labels: { tier: `l${step % 3}` } } as unknown as AnyObject)];
  if (roll < 0.62 && eps.length) return [put('endpoint', { ...pick(eps), status: `s${step}` } as unknown as AnyObject)]; // status only
  if (roll < 0.68 && eps.length) return [del('endpoint', pick(eps) as unknown as AnyObject)];
  if (roll < 0.8) return [put('host', { name: pick(HOSTS), vtep: r() < 0.5 ? '192.0.2.1' : `192.0.2.${step % 200}`, underlay: 'default', lastSeen: `${step}` } as unknown as AnyObject)];
  if (roll < 0.86 && all.host?.length) {
    const h = pick(all.host) as { name: string };
    return [del('host', h as AnyObject), ...eps.filter((e) => e.host === h.name).map((e) => del('endpoint', e as unknown as AnyObject))];
  }
  if (eps.length >= 2) {
    const a = pick(eps);
    const b = pick(eps.filter((e) => e.id !== a.id));
    return [put('endpoint', { ...a, host: b.host, ip: `10.1.0.${step % 250}` } as unknown as AnyObject), put('endpoint', { ...b, host: a.host, tenant: pick(TENANTS) } as unknown as AnyObject)].map((op) => {
      if (op.type === 'put') op.value = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(op.value) as object).filter(([, v]) => v !== undefined)));
      return op;
    });
  }
  return [];
}

function policyOps(r: () => number, all: AllObjects, step: number): Op[] {
  const policies = (all.policy ?? []) as { tenant: string; name: string }[];
  if (r() < 0.3 && policies.length) return [{ type: 'delete', key: kindDecl('policy').key(policies[Math.floor(r() * policies.length)] as AnyObject) }];
  const p = { id: `p${step}`, tenant: TENANTS[Math.floor(r() * TENANTS.length)]!, name: r() < 0.5 ? 'web' : 'db', rules: [{ text: `rule ${step}` }], rates: [], createdAt: '', updatedAt: `${step}` };
  return [{ type: 'put', key: kindDecl('policy').key(p as unknown as AnyObject), value: JSON.stringify(p) }];
}

const settle = () => new Promise((r) => setImmediate(r));

for (const seed of [1, 2, 3, 42, 2026]) {
  test(`fan-out equals the brute-force view on a random history (seed ${seed})`, async () => {
    const r = rng(seed);
    const store = new MemoryStore();
    const fanout = new Fanout(store, silentLogger);
    fanout.start();
    await fanout.ready();
    let viewers = [new Viewer('h0', fanout), new Viewer('h1', fanout), new Viewer('h2', fanout)];
    try {
      for (let step = 1; step <= 400; step++) {
        const ops = randomOps(r, await allObjects(store), step);
        if (ops.length) await store.txn([], ops);
        await settle();
        if (step % 50 === 0) {
          // Connections mid-history: a new watcher, and one replaced by a fresh connection.
          viewers[0]!.cancel();
          viewers = [...viewers.slice(1), new Viewer(viewers[0]!.host, fanout), new Viewer(HOSTS[(step / 50) % HOSTS.length]!, fanout)];
        }
        const all = await allObjects(store);
        for (const v of viewers) assertSameView(v, all, `seed ${seed}, step ${step} (${JSON.stringify(ops).slice(0, 300)})`);
      }
    } finally {
      fanout.stop();
    }
  });
}
