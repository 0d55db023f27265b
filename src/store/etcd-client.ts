/**
 * The etcd3 client as the etcd store uses it (ADR 021): every unary call has a deadline, so a
 * store that cannot answer (quorum lost, every member down) fails a call within a bounded
 * time instead of the client's default of waiting for ever; connecting is bounded too.
 * etcd3's own fault handling stays: a failed call is retried on another member (3 attempts)
 * and a member that failed three calls in a row is left alone for 5 s.
 */
import { Etcd3 } from 'etcd3';

/** Where the store is and how to talk to it. */
export interface EtcdConnection {
  /** Client URLs: http://host:port, or https://host:port with `tls`. */
  endpoints: string[];
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** Root prefix of every Tenet key in etcd (default /tenet). */
  root?: string;
  /** Deadline of one call (default 5 s). */
  callTimeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5000;
const DIAL_TIMEOUT_MS = 3000;

export function newEtcdClient(conn: EtcdConnection, endpoints = conn.endpoints): Etcd3 {
  const timeout = conn.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return new Etcd3({
    hosts: endpoints,
    credentials: conn.tls && { rootCertificate: conn.tls.ca, certChain: conn.tls.cert, privateKey: conn.tls.key },
    dialTimeout: DIAL_TIMEOUT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
}
