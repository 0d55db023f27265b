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
  /** The lease the key is bound to (it vanishes when the lease ends); absent: none. */
  lease?: number;
}

/** A condition of a transaction: the key's modRevision must equal this; 0 means "absent". */
export interface Compare {
  key: string;
  modRevision: number;
}

/**
 * A put binds the key to `lease` (it is deleted when the lease ends) or, without one, to no
 * lease: as in etcd, every put says again whether the key is leased.
 */
export type Op = { type: 'put'; key: string; value: string; lease?: number } | { type: 'delete'; key: string };

/**
 * A lease (etcd's): keys bound to it are deleted, in one revision with delete events, when it
 * is revoked or when `ttlMs` passes without a keep-alive. Grants and revokes are durable; a
 * keep-alive is not a write (no revision, no event, no disk): a backend that restarts gives
 * every lease a full TTL again, as etcd's leader does.
 */
export interface Lease {
  id: number;
  ttlMs: number;
}

/** A put named a lease that does not exist (never granted, revoked or expired). */
export class LeaseNotFoundError extends Error {
  constructor(readonly lease: number) {
    super(`lease ${lease} not found (expired or revoked)`);
    this.name = 'LeaseNotFoundError';
  }
}

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

/** One member of the store's cluster, as `tenet status` shows it. */
export interface StoreMember {
  name: string;
  /** The member's client URL. */
  endpoint: string;
  healthy: boolean;
  leader: boolean;
  /** Why it is not healthy, in one line. */
  error?: string;
}

/** The store's health as `tenet status` and GET /v1/status show it. */
export interface StoreStatus {
  backend: 'memory' | 'sqlite' | 'etcd';
  healthy: boolean;
  revision: number;
  members: StoreMember[];
  error?: string;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /**
   * Keys with the prefix in key order; at `revision` if given (CompactedError if too old).
   * `page` reads a range: from a key on, at most `limit` keys (an allocator's cursor read).
   */
  list(prefix: string, revision?: number, page?: ListPage): Promise<ListResult>;
  /** Create-if-absent (bound to `lease` if given: LeaseNotFoundError if it has ended). */
  create(key: string, value: string, lease?: number): Promise<WriteResult>;
  /**
   * Update only if the key's modRevision is still `modRevision`. Like every put, it binds the
   * key to `lease`, or without one unbinds it: pass the key's lease again to keep it leased.
   */
  update(key: string, value: string, modRevision: number, lease?: number): Promise<WriteResult>;
  /** Delete, only if modRevision matches when given. ok is false if the key is absent. */
  delete(key: string, modRevision?: number): Promise<WriteResult>;
  /**
   * All compares hold → all ops applied atomically as ONE revision; else nothing. A put with
   * a lease that has ended throws LeaseNotFoundError and applies nothing.
   */
  txn(compares: Compare[], ops: Op[]): Promise<WriteResult>;
  /** Events with revision > afterRevision under prefix, then live ones. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch;
  /** Forget history at or below `revision`; later watches/lists below it get CompactedError. */
  compact(revision: number): Promise<void>;
  revision(): Promise<number>;
  /** A new lease that ends `ttlMs` from now unless kept alive. */
  grant(ttlMs: number): Promise<Lease>;
  /** The lease now ends a full TTL from now; false when it has ended already (its keys are gone). */
  keepAlive(id: number): Promise<boolean>;
  /** Ends the lease now, deleting its keys in one revision; false when it had ended already. */
  revoke(id: number): Promise<boolean>;
  /** Milliseconds until the lease ends, or undefined when it has ended. */
  timeToLive(id: number): Promise<number | undefined>;
  /** Health of the store and its members (never throws: an unreachable store is unhealthy). */
  status(): Promise<StoreStatus>;
  close(): Promise<void>;
}
