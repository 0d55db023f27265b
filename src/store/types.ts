/**
 * The store contract: a narrow, etcd-shaped revisioned key-value store (after k3s's kine).
 * Every write bumps one global revision; each key remembers the revision that created it and
 * the one that last modified it. Backends: in-memory (unit tests), SQLite (embedded default),
 * etcd v3 (cluster, later). One conformance suite (conformance.ts) runs against each.
 *
 * Revisions start at 1 for the first write; an empty store is at revision 0.
 */

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

/** A condition of a transaction: the key's modRevision must equal this; 0 means "absent". */
export interface Compare {
  key: string;
  modRevision: number;
}

export type Op = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

export interface WriteResult {
  ok: boolean;
  /** Store revision after the call (unchanged when ok is false). */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For delete, value is '' and modRevision is the revision of the deletion. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** A page of a list: keys >= `from` (in key order), at most `limit` of them. */
export interface ListPage {
  from?: string;
  limit?: number;
}

export interface ListResult {
  revision: number;
  items: KeyValue[];
}

export interface Watch {
  cancel(): void;
}

export interface WatchHandlers {
  /** Events of one revision arrive together, in revision order. */
  onEvents(events: WatchEvent[]): void;
  /** Fatal for this watch (e.g. CompactedError); the watch is cancelled. */
  onError(err: Error): void;
}

export class CompactedError extends Error {
  constructor(readonly requested: number, readonly compacted: number) {
    super(`revision ${requested} has been compacted (compacted up to ${compacted})`);
    this.name = 'CompactedError';
  }
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /**
   * Keys with the prefix in key order; at `revision` if given (CompactedError if too old).
   * `page` reads a range: from a key on, at most `limit` keys (an allocator's cursor read).
   */
  list(prefix: string, revision?: number, page?: ListPage): Promise<ListResult>;
  /** Create-if-absent. */
  create(key: string, value: string): Promise<WriteResult>;
  /** Update only if the key's modRevision is still `modRevision`. */
  update(key: string, value: string, modRevision: number): Promise<WriteResult>;
  /** Delete, only if modRevision matches when given. ok is false if the key is absent. */
  delete(key: string, modRevision?: number): Promise<WriteResult>;
  /** All compares hold → all ops applied atomically as ONE revision; else nothing. */
  txn(compares: Compare[], ops: Op[]): Promise<WriteResult>;
  /** Events with revision > afterRevision under prefix, then live ones. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch;
  /** Forget history at or below `revision`; later watches/lists below it get CompactedError. */
  compact(revision: number): Promise<void>;
  revision(): Promise<number>;
  close(): Promise<void>;
}
