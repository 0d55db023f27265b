/**
 * One store revision through the fan-out (ADR 011): what each concerned host must be sent.
 *
 * The hosts a batch can concern are few and found by lookup: the hosts of every touched
 * tenant (before and after), the hosts that know a touched Host object, and the hosts of
 * touched endpoints. For each, the view before and after is compared only where it can
 * differ: the touched objects; the whole of a tenant the host gained or lost; and Host
 * objects, whose relevance (known(H,G): G is H or shares a tenant with it) is recomputed
 * only when the set of hosts of a touched tenant changed. Lines are built once per object
 * and shared by every recipient.
 */
import { kindOfKey } from '../model/keys.js';
import type { WatchEvent } from '../store/types.js';
import { entryOf, valueOf, type Entry, type FanoutIndex } from './fanout-index.js';
import { eventLine } from './watch-lines.js';

interface Change {
  key: string;
  prev?: Entry;
  next?: Entry;
  /** The event's own line: the put line of `next`, or the delete line of `prev`. */
  line: string;
}

/** Before-state the batch overwrites: T(H) of touched endpoint hosts, hosts of touched tenants and hosts. */
interface Before {
  tenantsOf: Map<string, Set<string>>;
  hostsWith: Map<string, Set<string>>;
  knowers: Set<string>;
}

/** Applies one revision's events to the index; returns the lines for each concerned host with `watched(host)`. */
export function applyBatch(index: FanoutIndex, events: WatchEvent[], watched: (host: string) => boolean): Map<string, string[]> {
  const revision = events[0]?.kv.modRevision ?? 0;
  const changes = toChanges(index, events, revision);
  const out = new Map<string, string[]>();
  if (changes.length === 0) return out;
  const before = snapshotBefore(index, changes);
  for (const c of changes) {
    if (c.next) index.set(c.next);
    else index.remove(c.key);
  }
  const ctx = new BatchContext(index, before, changes, revision);
  for (const host of ctx.candidates()) {
    if (!watched(host)) continue;
    const lines = ctx.linesFor(host);
    if (lines.length > 0) out.set(host, lines);
  }
  return out;
}

function toChanges(index: FanoutIndex, events: WatchEvent[], revision: number): Change[] {
  const changes: Change[] = [];
  const pending = new Map<string, Entry | undefined>();
  for (const e of events) {
    const kind = kindOfKey(e.kv.key);
    if (!kind) continue; // allocation keys
    const prev = pending.has(e.kv.key) ? pending.get(e.kv.key) : index.byKey.get(e.kv.key);
    if (e.type === 'put') {
      const next = entryOf(kind, e.kv.key, e.kv.value, revision);
      if (prev && prev.id === next.id && next.realized !== undefined && prev.realized === next.realized) next.realizedAt = prev.realizedAt;
      changes.push({ key: e.kv.key, prev, next, line: next.line });
      pending.set(e.kv.key, next);
    } else if (prev) {
      changes.push({ key: e.kv.key, prev, line: eventLine('delete', kind, revision, valueOf(prev)) });
      pending.set(e.kv.key, undefined);
    }
  }
  return changes;
}

/**
 * A put that changes nothing another host is sent (a status report, a heartbeat): it can
 * concern its own host only, so it costs one host, however many share its tenant.
 */
function quiet(c: Change): boolean {
  const { prev, next } = c;
  return !!prev && !!next && next.realized !== undefined && prev.id === next.id && prev.realized === next.realized && prev.owner === next.owner && prev.tenant === next.tenant;
}

function snapshotBefore(index: FanoutIndex, changes: Change[]): Before {
  const before: Before = { tenantsOf: new Map(), hostsWith: new Map(), knowers: new Set() };
  for (const c of changes) {
    if (quiet(c)) {
      if (c.next!.owner !== undefined) before.knowers.add(c.next!.owner);
      continue;
    }
    for (const e of [c.prev, c.next]) {
      if (!e) continue;
      if (e.tenant !== undefined && !before.hostsWith.has(e.tenant)) before.hostsWith.set(e.tenant, new Set(index.hostsWith(e.tenant)));
      if (e.kind === 'endpoint' && e.owner !== undefined && !before.tenantsOf.has(e.owner)) before.tenantsOf.set(e.owner, index.tenantsOf(e.owner));
      if (e.tenant === undefined) for (const h of index.knownHosts(e.id)) before.knowers.add(h);
    }
  }
  return before;
}

class BatchContext {
  private readonly touched: Set<string>;
  /** Hosts whose T(H) this batch changed: the only ones whose relevance to others can change. */
  private readonly movedHosts: string[];
  private readonly deletes = new Map<string, string>();

  constructor(
    private readonly index: FanoutIndex,
    private readonly before: Before,
    private readonly changes: Change[],
    private readonly revision: number,
  ) {
    this.touched = new Set(changes.map((c) => c.key));
    this.movedHosts = [...before.tenantsOf.keys()].filter((h) => !sameSet(before.tenantsOf.get(h)!, index.tenantsOf(h)));
  }

  *candidates(): Iterable<string> {
    const seen = new Set<string>(this.before.knowers);
    for (const [tenant, hosts] of this.before.hostsWith) {
      for (const h of hosts) seen.add(h);
      for (const h of this.index.hostsWith(tenant)) seen.add(h);
    }
    for (const h of this.before.tenantsOf.keys()) seen.add(h);
    for (const c of this.changes) if (c.next && c.next.tenant === undefined && !quiet(c)) for (const h of this.index.knownHosts(c.next.id)) seen.add(h);
    yield* seen;
  }

  linesFor(host: string): string[] {
    const tb = this.tenantsBefore(host);
    const ta = this.index.tenantsOf(host);
    const gained = [...ta].filter((t) => !tb.has(t));
    const lost = [...tb].filter((t) => !ta.has(t));
    const lines: string[] = [];
    for (const t of gained) for (const e of this.index.entriesOf(t)) if (!this.touched.has(e.key)) lines.push(e.line);
    this.hostLines(host, tb, ta, gained.length + lost.length > 0, lines);
    for (const c of this.changes) this.changeLine(host, tb, ta, c, lines);
    for (const t of lost) for (const e of this.index.entriesOf(t)) if (!this.touched.has(e.key)) lines.push(this.deleteLine(e));
    return lines;
  }

  /** Host objects that became known or unknown to `host` without being touched themselves. */
  private hostLines(host: string, tb: Set<string>, ta: Set<string>, ownMoved: boolean, lines: string[]): void {
    const maybe = new Set(this.movedHosts);
    if (ownMoved) {
      for (const t of new Set([...tb, ...ta])) {
        for (const g of this.before.hostsWith.get(t) ?? this.index.hostsWith(t)) maybe.add(g);
        for (const g of this.index.hostsWith(t)) maybe.add(g);
      }
    }
    for (const g of maybe) {
      const e = this.index.hosts.get(g);
      if (!e || this.touched.has(e.key)) continue;
      const was = g === host || shares(tb, this.tenantsBefore(g));
      const is = g === host || shares(ta, this.index.tenantsOf(g));
      if (is && !was) lines.push(e.line);
      if (was && !is) lines.push(this.deleteLine(e));
    }
  }

  private changeLine(host: string, tb: Set<string>, ta: Set<string>, c: Change, lines: string[]): void {
    const was = c.prev !== undefined && this.visible(host, c.prev, tb, (g) => this.tenantsBefore(g));
    const is = c.next !== undefined && this.visible(host, c.next, ta, (g) => this.index.tenantsOf(g));
    if (is && was && this.unchangedForOthers(host, c)) return;
    // A put that replaces an object of another identity under the same key: the old one goes.
    if (was && (!is || c.prev!.id !== c.next!.id) && c.next) lines.push(this.deleteLine(c.prev!));
    if (is || (was && !c.next)) lines.push(c.line);
  }

  /** A put that leaves the realized projection equal (a status report, a heartbeat) goes to its own host only. */
  private unchangedForOthers(host: string, c: Change): boolean {
    return quiet(c) && c.next!.owner !== host;
  }

  private visible(host: string, e: Entry, tenants: Set<string>, tenantsOf: (g: string) => Set<string>): boolean {
    if (e.tenant !== undefined) return tenants.has(e.tenant);
    return e.id === host || shares(tenants, tenantsOf(e.id));
  }

  private tenantsBefore(host: string): Set<string> {
    return this.before.tenantsOf.get(host) ?? this.index.tenantsOf(host);
  }

  private deleteLine(e: Entry): string {
    let line = this.deletes.get(e.key);
    if (line === undefined) this.deletes.set(e.key, (line = eventLine('delete', e.kind, this.revision, valueOf(e))));
    return line;
  }
}

function shares(a: Set<string>, b: Set<string>): boolean {
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) return true;
  return false;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
