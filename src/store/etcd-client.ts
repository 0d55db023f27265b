/**
 * The etcd3 client as the etcd store uses it (ADR 021): every unary call has a deadline, so a
 * store that cannot answer (quorum lost, every member down) fails a call within a bounded
 * time instead of the client's default of waiting for ever; connecting is bounded too.
 * Fault handling is ours (etcd-faults.ts): a dead member is skipped, a call etcd did not take
 * is retried on another member, and nothing makes a call wait much past its deadline.
 */
import { Etcd3 } from 'etcd3';
import { faultHandling } from './etcd-faults.js';

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

/**
 * gRPC channel options: a connection whose member stopped answering (not closed: a machine
 * gone) is found by keep-alive pings within ~15 s (etcd accepts a ping every 5 s at most),
 * and a member back from the dead is dialled again within a second or two.
 */
const GRPC_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/**
 * grpc-js passes the member's address as the TLS ServerName, and Node warns (DEP0123) when
 * that is an IP, on stderr, once per process. The warning is harmless (Node ignores the name
 * and checks the certificate's IP SAN), but a controller's start must be one clean line, so
 * that one warning, and only it, is dropped.
 */
function muteServerNameWarning(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
    if (code === 'DEP0123') return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

let muted = false;

export function newEtcdClient(conn: EtcdConnection, endpoints = conn.endpoints): Etcd3 {
  const timeout = conn.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  if (conn.tls && !muted) {
    muted = true;
    muteServerNameWarning();
  }
  return new Etcd3({
    hosts: endpoints,
    credentials: conn.tls && { rootCertificate: conn.tls.ca, certChain: conn.tls.cert, privateKey: conn.tls.key },
    dialTimeout: DIAL_TIMEOUT_MS,
    grpcOptions: GRPC_OPTIONS,
    faultHandling: faultHandling(timeout),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
}
