/**
 * The store contract on etcd v3 (ADR 021), for cluster mode: any number of controller
 * replicas share one etcd cluster and see the same keys and revisions, so a watch begun on one
 * replica resumes on another. Keys live under a root prefix (etcd-codec.ts); revisions are
 * etcd's own, less one; every write is one etcd txn whose compares are modRevisions.
 * Leases and the cluster's health are in etcd-leases.ts and etcd-status.ts.
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import { compareRev, DEFAULT_ROOT, etcdMessages, fromEtcdRev, hasMessage, KeySpace, toEtcdRev, toKeyValue, unavailable } from './etcd-codec.js';
import { newEtcdClient, type EtcdConnection } from './etcd-client.js';
import { EtcdLeases } from './etcd-leases.js';
import { etcdStatus } from './etcd-status.js';
import { EtcdWatch } from './etcd-watch.js';
import { CompactedError, LeaseNotFoundError, type Compare, type KeyValue, type Lease, type ListPage, type ListResult, type Op, type Store, type StoreStatus, type Watch, type WatchHandlers, type WriteResult } from './types.js';

export type { EtcdConnection } from './etcd-client.js';

export class EtcdStore implements Store {
  readonly space: KeySpace;
  private readonly client: Etcd3;
  private readonly leases: EtcdLeases;
  private readonly watches = new Set<Watch>();

  constructor(readonly conn: EtcdConnection) {
    this.space = new KeySpace(conn.root ?? DEFAULT_ROOT);
    this.client = newEtcdClient(conn);
    this.leases = new EtcdLeases(this.client);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.client.kv.range({ key: this.space.key(key) }).catch((err: unknown) => {
      throw unavailable(err, `a read of ${key}`);
    });
    return res.kvs[0] && toKeyValue(this.space, res.kvs[0]);
  }

  async list(prefix: string, revision?: number, page: ListPage = {}): Promise<ListResult> {
    const range = this.space.range(prefix);
    const from = page.from === undefined ? range.key : this.space.key(page.from);
    const key = Buffer.compare(from, range.key) > 0 ? from : range.key;
    try {
      const res = await this.client.kv.range({ key, range_end: range.range_end, revision: revision === undefined ? 0 : toEtcdRev(revision), limit: page.limit ?? 0 });
      const current = fromEtcdRev(res.header.revision);
      const items = page.limit === 0 ? [] : res.kvs.map((kv) => toKeyValue(this.space, kv));
      return { revision: revision === undefined ? current : Math.min(revision, current), items };
    } catch (err) {
      if (revision !== undefined && hasMessage(err, etcdMessages.futureRevision)) return this.list(prefix, undefined, page);
      if (revision !== undefined && hasMessage(err, etcdMessages.compacted)) throw new CompactedError(revision, await this.compactionPoint());
      throw unavailable(err, `a list of ${prefix}`);
    }
  }

  async create(key: string, value: string, lease?: number): Promise<WriteResult> {
    return this.txn([{ key, modRevision: 0 }], [{ type: 'put', key, value, lease }]);
  }

  async update(key: string, value: string, modRevision: number, lease?: number): Promise<WriteResult> {
    if (modRevision === 0) return { ok: false, revision: await this.revision() };
    return this.txn([{ key, modRevision }], [{ type: 'put', key, value, lease }]);
  }

  async delete(key: string, modRevision?: number): Promise<WriteResult> {
    if (modRevision === 0) return { ok: false, revision: await this.revision() };
    // Without a modRevision the key must exist (modRevision > 0): a delete of nothing is ok:false.
    const compare = modRevision === undefined ? { key: this.space.key(key), target: 'Mod' as const, result: 'Greater' as const, mod_revision: 0 } : this.compare({ key, modRevision });
    return this.commit([compare], [{ request_delete_range: { key: this.space.key(key) } }], []);
  }

  async txn(compares: Compare[], ops: Op[]): Promise<WriteResult> {
    return this.commit(compares.map((c) => this.compare(c)), lastOpPerKey(ops).map((op) => this.requestOp(op)), ops);
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    const watch = new EtcdWatch(this.client, this.space, prefix, afterRevision, handlers);
    this.watches.add(watch);
    return {
      cancel: () => {
        this.watches.delete(watch);
        watch.cancel();
      },
    };
  }

  /** etcd compacts the whole cluster: with a shared etcd, every user's history goes at once. */
  async compact(revision: number): Promise<void> {
    const target = Math.min(toEtcdRev(revision), toEtcdRev(await this.revision()));
    try {
      await this.client.kv.compact({ revision: target, physical: true });
    } catch (err) {
      if (!hasMessage(err, etcdMessages.compacted)) throw err; // at or below the point already: nothing to do
    }
  }

  async revision(): Promise<number> {
    const res = await this.client.kv.range({ key: this.space.probeKey(), count_only: true }).catch((err: unknown) => {
      throw unavailable(err, 'a read of its revision');
    });
    return fromEtcdRev(res.header.revision);
  }

  /** One read with etcd's own error (open.ts words it for the user). */
  async ping(): Promise<void> {
    await this.client.kv.range({ key: this.space.probeKey(), count_only: true });
  }

  grant(ttlMs: number): Promise<Lease> {
    return this.leases.grant(ttlMs);
  }

  keepAlive(id: number): Promise<boolean> {
    return this.leases.keepAlive(id);
  }

  revoke(id: number): Promise<boolean> {
    return this.leases.revoke(id);
  }

  timeToLive(id: number): Promise<number | undefined> {
    return this.leases.timeToLive(id);
  }

  status(): Promise<StoreStatus> {
    return etcdStatus(this.conn, () => this.revision());
  }

  async close(): Promise<void> {
    for (const watch of this.watches) watch.cancel();
    this.watches.clear();
    this.client.close();
  }

  private compare(c: Compare) {
    return { key: this.space.key(c.key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: compareRev(c.modRevision) };
  }

  private requestOp(op: Op): IRequestOp {
    const key = this.space.key(op.key);
    if (op.type === 'delete') return { request_delete_range: { key } };
    return { request_put: { key, value: Buffer.from(op.value), lease: op.lease ?? 0 } };
  }

  private async commit(compare: object[], success: IRequestOp[], ops: Op[]): Promise<WriteResult> {
    try {
      const res = await this.client.kv.txn({ compare, success, failure: [] });
      return { ok: res.succeeded, revision: fromEtcdRev(res.header.revision) };
    } catch (err) {
      if (hasMessage(err, etcdMessages.leaseNotFound)) throw new LeaseNotFoundError(await this.endedLease(ops));
      throw unavailable(err, 'a write');
    }
  }

  /** Which lease of a refused txn has ended (etcd's error does not say). */
  private async endedLease(ops: Op[]): Promise<number> {
    const leases = ops.flatMap((op) => (op.type === 'put' && op.lease !== undefined ? [op.lease] : []));
    for (const id of leases) if ((await this.timeToLive(id)) === undefined) return id;
    return leases[0] ?? 0;
  }

  /**
   * etcd's compaction point, which a refused range does not report: a watch from revision 1
   * of a key no one writes is cancelled at once with it.
   */
  private async compactionPoint(): Promise<number> {
    const stream = await this.client.watchClient.watch();
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('etcd did not report its compaction point')), 5000);
        stream.on('data', (res) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            clearTimeout(timer);
            resolve(fromEtcdRev(res.compact_revision));
          }
        });
        stream.on('error', (err) => reject(err));
        stream.write({ create_request: { key: this.space.probeKey(), start_revision: 1 } });
      });
    } finally {
      stream.on('error', () => {});
      stream.cancel();
    }
  }
}

/**
 * etcd refuses a txn that names a key twice; the contract applies ops in order, so only the
 * last op on a key decides its state. (A put then a delete of one key is one delete here,
 * with one event, where the in-process backends show two events of the same revision.)
 */
function lastOpPerKey(ops: Op[]): Op[] {
  const last = new Map<string, Op>();
  for (const op of ops) {
    last.delete(op.key);
    last.set(op.key, op);
  }
  return [...last.values()];
}

/** Opens the store and checks that etcd answers (see open.ts for the error a user sees). */
export function openEtcdStore(conn: EtcdConnection): EtcdStore {
  return new EtcdStore(conn);
}
