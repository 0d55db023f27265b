/**
 * In-memory store for unit tests: the full contract (revisions, txn, watch, compaction)
 * with none of the durability. It keeps a log of every revision, like the SQLite backend.
 */
import { checkTtl, Lessor } from './lessor.js';
import { CompactedError, LeaseNotFoundError, type Compare, type Lease, type KeyValue, type ListPage, type ListResult, type Op, type Store, type StoreStatus, type Watch, type WatchEvent, type WatchHandlers, type WriteResult } from './types.js';
import { WatchHub } from './watch-hub.js';

export class MemoryStore implements Store {
  private rev = 0;
  private compacted = 0;
  private readonly current = new Map<string, KeyValue>();
  private readonly log: WatchEvent[] = [];
  private readonly hub = new WatchHub();
  private nextLease = 1;
  private closed = false;
  private readonly lessor = new Lessor((id) => this.revoke(id));

  constructor() {
    this.lessor.start();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = this.current.get(key);
    return kv && { ...kv };
  }

  async list(prefix: string, revision?: number, page: ListPage = {}): Promise<ListResult> {
    const all = revision !== undefined && revision < this.rev ? this.listAt(prefix, revision) : { revision: this.rev, items: this.under(prefix) };
    return { revision: all.revision, items: paged(all.items, page) };
  }

  private under(prefix: string): KeyValue[] {
    return sortedCopies([...this.current.values()].filter((kv) => kv.key.startsWith(prefix)));
  }

  async create(key: string, value: string, lease?: number): Promise<WriteResult> {
    return this.txn([{ key, modRevision: 0 }], [{ type: 'put', key, value, lease }]);
  }

  async update(key: string, value: string, modRevision: number, lease?: number): Promise<WriteResult> {
    if (modRevision === 0) return { ok: false, revision: this.rev };
    return this.txn([{ key, modRevision }], [{ type: 'put', key, value, lease }]);
  }

  async delete(key: string, modRevision?: number): Promise<WriteResult> {
    const kv = this.current.get(key);
    if (!kv) return { ok: false, revision: this.rev };
    return this.txn([{ key, modRevision: modRevision ?? kv.modRevision }], [{ type: 'delete', key }]);
  }

  async txn(compares: Compare[], ops: Op[]): Promise<WriteResult> {
    for (const op of ops) if (op.type === 'put' && op.lease !== undefined && !this.lessor.has(op.lease)) throw new LeaseNotFoundError(op.lease);
    const holds = compares.every((c) => (this.current.get(c.key)?.modRevision ?? 0) === c.modRevision);
    if (!holds) return { ok: false, revision: this.rev };
    const rev = this.rev + 1;
    const events = ops.flatMap((op) => this.apply(op, rev));
    if (events.length > 0) {
      this.rev = rev;
      this.log.push(...events);
      this.hub.publish(events);
    }
    return { ok: true, revision: this.rev };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    return this.hub.subscribe(prefix, afterRevision, handlers, () => {
      if (afterRevision < this.compacted) throw new CompactedError(afterRevision, this.compacted);
      return this.log.filter((e) => e.kv.modRevision > afterRevision);
    });
  }

  async compact(revision: number): Promise<void> {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.rev));
    const keep = this.log.filter((e) => e.kv.modRevision > this.compacted);
    this.log.splice(0, this.log.length, ...keep);
  }

  async revision(): Promise<number> {
    return this.rev;
  }

  async grant(ttlMs: number): Promise<Lease> {
    checkTtl(ttlMs);
    const lease = { id: this.nextLease++, ttlMs };
    this.lessor.add(lease);
    return lease;
  }

  async keepAlive(id: number): Promise<boolean> {
    return this.lessor.keepAlive(id);
  }

  /** Also the expiry loop's way of ending a lease (lessor.ts): its keys go in one revision. */
  async revoke(id: number): Promise<boolean> {
    const ending = this.lessor.begin(id);
    if (!ending) return false;
    try {
      if (ending.keys.length > 0) await this.txn([], ending.keys.map((key) => ({ type: 'delete', key })));
    } catch (err) {
      this.lessor.retry(id);
      throw err;
    }
    this.lessor.finish(id);
    return ending.live;
  }

  async timeToLive(id: number): Promise<number | undefined> {
    return this.lessor.timeToLive(id);
  }

  /** Always healthy while open: one member in this process. */
  async status(): Promise<StoreStatus> {
    const healthy = !this.closed;
    const member = { name: 'memory', endpoint: 'memory:', healthy, leader: true, ...(healthy ? {} : { error: 'the store is closed' }) };
    return { backend: 'memory', healthy, revision: this.rev, members: [member], ...(healthy ? {} : { error: 'the store is closed' }) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lessor.stop();
    this.hub.closeAll();
  }

  private apply(op: Op, rev: number): WatchEvent[] {
    const prev = this.current.get(op.key);
    if (op.type === 'delete') {
      if (!prev) return [];
      this.current.delete(op.key);
      this.lessor.bind(op.key, undefined);
      return [{ type: 'delete', kv: { key: op.key, value: '', createRevision: prev.createRevision, modRevision: rev }, prevKv: prev }];
    }
    const kv: KeyValue = { key: op.key, value: op.value, createRevision: prev?.createRevision ?? rev, modRevision: rev };
    if (op.lease !== undefined) kv.lease = op.lease;
    this.current.set(op.key, kv);
    this.lessor.bind(op.key, op.lease);
    return [{ type: 'put', kv, prevKv: prev }];
  }

  /** Rebuilds the state at a past revision from the log (history above the compaction point). */
  private listAt(prefix: string, revision: number): ListResult {
    if (revision < this.compacted) throw new CompactedError(revision, this.compacted);
    const state = new Map([...this.current].filter(([k]) => k.startsWith(prefix)));
    for (const e of [...this.log].reverse()) {
      if (e.kv.modRevision <= revision || !e.kv.key.startsWith(prefix)) continue;
      if (e.prevKv) state.set(e.kv.key, e.prevKv);
      else state.delete(e.kv.key);
    }
    return { revision, items: sortedCopies([...state.values()]) };
  }
}

function paged(items: KeyValue[], page: ListPage): KeyValue[] {
  const from = page.from;
  const after = from === undefined ? items : items.filter((kv) => kv.key >= from);
  return page.limit === undefined ? after : after.slice(0, page.limit);
}

/** Copies, so a caller that edits what it got cannot edit the store (as with SQLite). */
function sortedCopies(items: KeyValue[]): KeyValue[] {
  return items.map((kv) => ({ ...kv })).sort((a, b) => (a.key < b.key ? -1 : 1));
}
