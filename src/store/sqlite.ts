/**
 * The embedded default store: the store contract on one SQLite file (better-sqlite3).
 *
 * It is log-structured, after k3s's kine: every change appends a row (key, value or NULL for
 * a deletion, the key's create revision, a pointer to the row it replaced) and nothing is
 * updated in place. The current state is each key's latest row when that row is not a
 * deletion. One table then answers all three questions the contract asks: the current value,
 * the state at a past revision (the latest row per key at or below it), and a watch's
 * history (the rows above its start revision, in order, with prevKv one join away).
 * compact() is the only thing that deletes rows.
 *
 * Design history (2026-11): kine keys its table by revision, one row per revision, because
 * etcd gives each key its own revision. Our txn writes several keys at ONE revision, so rows
 * carry their own `id` (commit order) beside `rev`. A current-state table plus a separate
 * events table was considered and dropped: two writes per change, two truths to keep in step.
 *
 * Writes run in BEGIN IMMEDIATE transactions and take the next revision from the meta table,
 * so even a second process writing the same file cannot reuse a revision or break a compare.
 * Watches, though, are fed in-process after each commit (WatchHub): a watch does not see
 * writes made by another process until it re-subscribes. One process owns the file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkTtl, Lessor } from './lessor.js';
import { ADD_LEASE_COLUMN, SCHEMA, SQL } from './sqlite-schema.js';
import { CompactedError, LeaseNotFoundError, type Compare, type Lease, type KeyValue, type ListPage, type ListResult, type Op, type Store, type StoreStatus, type Watch, type WatchEvent, type WatchHandlers, type WriteResult } from './types.js';
import { WatchHub } from './watch-hub.js';

interface Row {
  id: number;
  rev: number;
  key: string;
  value: string | null;
  create_rev: number;
  lease?: number | null;
}

interface HistoryRow extends Omit<Row, 'id'> {
  prev_rev: number | null;
  prev_value: string | null;
  prev_create_rev: number | null;
  prev_lease: number | null;
}

/** Settings for measuring the alternatives (bench/store-commit.ts); Tenet runs the defaults. */
export interface SqliteOptions {
  /** FULL (default, ADR 010): an acknowledged write survives power loss, not only kill -9. */
  synchronous?: 'FULL' | 'NORMAL';
}

type Commit = { ok: false; revision: number } | { ok: true; revision: number; events: WatchEvent[] };

/** Opens (creating if needed) `<dataDir>/tenet.db`. */
export function openSqliteStore(dataDir: string): SqliteStore {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the data directory ${dataDir}: ${(err as Error).message}; create it or choose a writable one`);
  }
  return new SqliteStore(join(dataDir, 'tenet.db'));
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly hub = new WatchHub();
  private readonly q: Record<keyof typeof SQL, Database.Statement>;
  private readonly commit: (compares: Compare[], ops: Op[], endLease?: number) => Commit;
  private readonly lessor = new Lessor((id) => this.endLease(id));

  constructor(readonly path: string, opts: SqliteOptions = {}) {
    this.db = openDatabase(path, opts.synchronous ?? 'FULL');
    this.q = prepareAll(this.db);
    this.commit = this.db.transaction((compares: Compare[], ops: Op[], endLease?: number) => {
      if (endLease !== undefined) this.q.dropLease.run(endLease);
      return this.apply(compares, ops);
    }).immediate;
    this.restoreLeases();
    this.lessor.start();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const row = this.latest(key);
    return row ? toKv(row) : undefined;
  }

  async list(prefix: string, revision?: number, page: ListPage = {}): Promise<ListResult> {
    return this.db.transaction(() => {
      const current = this.meta('revision');
      const at = revision === undefined || revision >= current ? current : revision;
      this.checkNotCompacted(at);
      const rows = (paged(prefix, page) ? this.q.pageAt.all({ rev: at, from: pageStart(prefix, page), end: prefixEnd(prefix), limit: page.limit ?? -1 }) : this.q.listAt.all({ prefix, rev: at })) as Row[];
      return { revision: at, items: rows.map(toKv) };
    })();
  }

  async create(key: string, value: string, lease?: number): Promise<WriteResult> {
    return this.write([{ key, modRevision: 0 }], [{ type: 'put', key, value, lease }]);
  }

  async update(key: string, value: string, modRevision: number, lease?: number): Promise<WriteResult> {
    if (modRevision === 0) return { ok: false, revision: this.meta('revision') };
    return this.write([{ key, modRevision }], [{ type: 'put', key, value, lease }]);
  }

  async delete(key: string, modRevision?: number): Promise<WriteResult> {
    const compares = modRevision === undefined ? [] : [{ key, modRevision }];
    const result = this.commit(compares, [{ type: 'delete', key }]);
    if (result.ok) this.published(result.events);
    // Deleting nothing is not a write: ok is false, as the contract asks.
    return { ok: result.ok && result.events.length > 0, revision: result.revision };
  }

  async txn(compares: Compare[], ops: Op[]): Promise<WriteResult> {
    return this.write(compares, ops);
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    return this.hub.subscribe(prefix, afterRevision, handlers, () =>
      this.db.transaction(() => {
        this.checkNotCompacted(afterRevision);
        const rows = this.q.history.all({ prefix, after: afterRevision }) as HistoryRow[];
        return rows.map(toEvent);
      })(),
    );
  }

  async compact(revision: number): Promise<void> {
    this.db.transaction(() => {
      const target = Math.min(revision, this.meta('revision'));
      if (target <= this.meta('compacted')) return;
      this.q.compact.run({ rev: target });
      this.setMeta('compacted', target);
    }).immediate();
  }

  async revision(): Promise<number> {
    return this.meta('revision');
  }

  async grant(ttlMs: number): Promise<Lease> {
    checkTtl(ttlMs);
    const id = Number(this.q.grant.run(ttlMs).lastInsertRowid);
    this.lessor.add({ id, ttlMs });
    return { id, ttlMs };
  }

  async keepAlive(id: number): Promise<boolean> {
    return this.lessor.keepAlive(id);
  }

  async revoke(id: number): Promise<boolean> {
    return this.endLease(id);
  }

  async timeToLive(id: number): Promise<number | undefined> {
    return this.lessor.timeToLive(id);
  }

  /** One member, the file itself, always its own leader; unhealthy once it cannot be read. */
  async status(): Promise<StoreStatus> {
    const member = { name: this.path, endpoint: `file://${this.path}`, leader: true };
    try {
      if (!this.db.open) throw new Error('the store is closed');
      const revision = this.meta('revision');
      return { backend: 'sqlite', healthy: true, revision, members: [{ ...member, healthy: true }] };
    } catch (err) {
      const error = (err as Error).message;
      return { backend: 'sqlite', healthy: false, revision: 0, members: [{ ...member, healthy: false, error }], error };
    }
  }

  async close(): Promise<void> {
    this.lessor.stop();
    this.hub.closeAll();
    if (this.db.open) this.db.close();
  }

  private write(compares: Compare[], ops: Op[]): WriteResult {
    for (const op of ops) if (op.type === 'put' && op.lease !== undefined && !this.lessor.has(op.lease)) throw new LeaseNotFoundError(op.lease);
    const result = this.commit(compares, ops);
    if (result.ok) this.published(result.events);
    return { ok: result.ok, revision: result.revision };
  }

  /** Revoke and expiry: the lease's keys and its row go in one transaction (one revision). */
  private endLease(id: number): boolean {
    const ending = this.lessor.begin(id);
    if (!ending) return false;
    let result: Commit;
    try {
      result = this.commit([], ending.keys.map((key) => ({ type: 'delete', key })), id);
    } catch (err) {
      this.lessor.retry(id);
      throw err;
    }
    this.lessor.finish(id);
    if (result.ok) this.published(result.events);
    return ending.live;
  }

  private published(events: WatchEvent[]): void {
    for (const e of events) this.lessor.bind(e.kv.key, e.type === 'put' ? e.kv.lease : undefined);
    this.hub.publish(events);
  }

  /**
   * After a (re)open every lease gets a full TTL (ADR 010). A live key bound to a lease that
   * has no row cannot come from a crash (a lease's row and its keys go in one transaction),
   * only from a bug or a hand edit: that lease has ended, so its keys go at the first tick.
   */
  private restoreLeases(): void {
    for (const lease of this.q.leases.all() as Lease[]) this.lessor.add(lease);
    for (const row of this.q.leasedKeys.all() as { key: string; lease: number }[]) {
      if (!this.lessor.knows(row.lease)) this.lessor.add({ id: row.lease, ttlMs: 0 });
      this.lessor.bind(row.key, row.lease);
    }
  }

  /** Runs inside the IMMEDIATE transaction: check every compare, then append one row per op. */
  private apply(compares: Compare[], ops: Op[]): Commit {
    const current = this.meta('revision');
    const holds = compares.every((c) => (this.latest(c.key)?.rev ?? 0) === c.modRevision);
    if (!holds) return { ok: false, revision: current };
    const events = ops.flatMap((op) => this.append(op, current + 1));
    if (events.length === 0) return { ok: true, revision: current, events };
    this.setMeta('revision', current + 1);
    return { ok: true, revision: current + 1, events };
  }

  private append(op: Op, rev: number): WatchEvent[] {
    const prev = this.latest(op.key);
    if (op.type === 'delete' && !prev) return [];
    const value = op.type === 'put' ? op.value : null;
    const createRev = prev?.create_rev ?? rev;
    const lease = op.type === 'put' ? (op.lease ?? null) : null;
    this.q.insert.run(rev, op.key, value, createRev, prev?.id ?? null, lease);
    const kv = toKv({ rev, key: op.key, value, create_rev: createRev, lease });
    return [{ type: op.type, kv, prevKv: prev ? toKv(prev) : undefined }];
  }

  /** The key's latest row if it is live; a deletion counts as absent. */
  private latest(key: string): Row | undefined {
    const row = this.q.latest.get(key) as Row | undefined;
    return row && row.value !== null ? row : undefined;
  }

  private checkNotCompacted(revision: number): void {
    const compacted = this.meta('compacted');
    if (revision < compacted) throw new CompactedError(revision, compacted);
  }

  private meta(name: 'revision' | 'compacted'): number {
    return (this.q.meta.get(name) as { value: number }).value;
  }

  private setMeta(name: 'revision' | 'compacted', value: number): void {
    this.q.setMeta.run(value, name);
  }
}

function openDatabase(path: string, synchronous: 'FULL' | 'NORMAL'): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // FULL: a commit survives power loss, so an address once handed out stays taken (ADR 010).
    db.pragma(`synchronous = ${synchronous}`);
    db.exec(SCHEMA);
    const columns = db.pragma('table_info(log)') as { name: string }[];
    if (!columns.some((c) => c.name === 'lease')) db.exec(ADD_LEASE_COLUMN);
    return db;
  } catch (err) {
    db?.close();
    throw new Error(`cannot open the store ${path}: ${(err as Error).message}; check that it is a Tenet database and writable`);
  }
}

/** A page read (from or limit given) under a non-empty prefix walks the key index (pageAt). */
function paged(prefix: string, page: ListPage): boolean {
  return prefix !== '' && (page.from !== undefined || page.limit !== undefined);
}

function pageStart(prefix: string, page: ListPage): string {
  return page.from !== undefined && page.from > prefix ? page.from : prefix;
}

/** The first string after every string that starts with `prefix` (its last character + 1). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

function prepareAll(db: Database.Database): Record<keyof typeof SQL, Database.Statement> {
  const entries = Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]);
  return Object.fromEntries(entries) as Record<keyof typeof SQL, Database.Statement>;
}

function toKv(row: Omit<Row, 'id'>): KeyValue {
  const kv: KeyValue = { key: row.key, value: row.value ?? '', createRevision: row.create_rev, modRevision: row.rev };
  if (row.lease !== undefined && row.lease !== null) kv.lease = row.lease;
  return kv;
}

function toEvent(row: HistoryRow): WatchEvent {
  const prevKv = row.prev_rev === null ? undefined : toKv({ key: row.key, rev: row.prev_rev, value: row.prev_value, create_rev: row.prev_create_rev!, lease: row.prev_lease });
  return { type: row.value === null ? 'delete' : 'put', kv: toKv(row), prevKv };
}
