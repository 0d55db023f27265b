/**
 * How the store contract maps onto etcd (ADR 021): every key lives under a root prefix so a
 * shared etcd is fine; a Tenet revision is etcd's revision minus one (an empty etcd is at
 * revision 1, an empty Tenet store at 0), so every replica sees the same revisions; a
 * modRevision of 0 means "absent" on both sides.
 */
import type { IKeyValue } from 'etcd3';
import { TenetError } from '../model/errors.js';
import type { KeyValue } from './types.js';

export const DEFAULT_ROOT = '/tenet';

export class KeySpace {
  constructor(readonly root: string) {}

  /** The etcd key of a contract key. Contract keys start with '/'. */
  key(key: string): Buffer {
    return Buffer.from(this.root + key);
  }

  /** The contract key of an etcd key under the root. */
  unkey(raw: Buffer): string {
    return raw.toString().slice(this.root.length);
  }

  /** [start, end) of every etcd key whose contract key starts with `prefix`. */
  range(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.key(prefix);
    return { key, range_end: prefixEnd(key) };
  }

  /** A key no contract key can be ('\0' sorts before '/'): for probes that must match nothing. */
  probeKey(): Buffer {
    return Buffer.from(`${this.root}\0probe`);
  }
}

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key: etcd's "range to the end"
}

/** Tenet revision → etcd revision, for a revision that exists (≥ 0). */
export const toEtcdRev = (rev: number): number => rev + 1;
/** etcd revision → Tenet revision. */
export const fromEtcdRev = (rev: string | number): number => Number(rev) - 1;
/** A compare's modRevision: 0 (absent) stays 0. */
export const compareRev = (rev: number): number => (rev === 0 ? 0 : rev + 1);

export function toKeyValue(space: KeySpace, kv: IKeyValue): KeyValue {
  const out: KeyValue = { key: space.unkey(kv.key), value: kv.value.toString(), createRevision: fromEtcdRev(kv.create_revision), modRevision: fromEtcdRev(kv.mod_revision) };
  if (kv.lease && kv.lease !== '0') out.lease = Number(kv.lease);
  return out;
}

/** etcd's messages for the conditions the contract names (they arrive as gRPC errors). */
export const etcdMessages = {
  compacted: 'required revision has been compacted',
  futureRevision: 'required revision is a future revision',
  leaseNotFound: 'requested lease not found',
  leaseExists: 'lease already exists',
} as const;

export function hasMessage(err: unknown, text: string): boolean {
  return err instanceof Error && err.message.includes(text);
}

/**
 * A call etcd did not complete (deadline passed, no member reachable, quorum lost) as the
 * one-line error a user sees; nothing was applied unless etcd says so, and for a write whose
 * answer was lost the caller's next read tells.
 */
export function unavailable(err: unknown, what: string): TenetError {
  const text = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return new TenetError('STORE_UNAVAILABLE', `the store (etcd) did not complete ${what}: ${text}`, 'check that a majority of the etcd members are up (tenet status)');
}
