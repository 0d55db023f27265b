/**
 * The bearer credentials of the controller's TCP API, as text, and the wire bodies of the
 * token routes (ADR 006). Three kinds, told apart by their prefix so the server knows which
 * record to check without trying them all:
 *
 * - `tenet-admin.<secret>`: the admin token, generated once into the controller's data dir.
 * - `tenet-host.<secret>.<host>`: a host credential, bound to one host name; an agent gets it
 *   by presenting a join token and keeps it in its state dir.
 * - `tenet-join.<ca sha256>.<id>.<secret>`: a join token (after k3s's `K10<ca hash>::…` and
 *   kubeadm's `--discovery-token-ca-cert-hash`): it carries the SHA-256 of the controller's
 *   CA certificate, so an agent that holds only the token can fetch the CA over an untrusted
 *   connection, check it, and from then on trust nothing else.
 *
 * Secrets are 32 random bytes (16 for join tokens, which expire), hex-encoded; the server
 * keeps only their SHA-256 (a fast hash is right for random secrets: nothing to brute-force).
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';

export type Caller = { role: 'admin' } | { role: 'host'; host: string };

export type Bearer = { kind: 'admin'; secret: string } | { kind: 'host'; host: string; secret: string };

export interface JoinToken {
  caHash: string;
  id: string;
  secret: string;
}

const ADMIN = /^tenet-admin\.([0-9a-f]{64})$/;
const HOST = /^tenet-host\.([0-9a-f]{64})\.([A-Za-z0-9.-]{1,63})$/;
const JOIN = /^tenet-join\.([0-9a-f]{64})\.([0-9a-f]{12})\.([0-9a-f]{32})$/;

export const formatAdminToken = (secret: string): string => `tenet-admin.${secret}`;
export const formatHostCredential = (host: string, secret: string): string => `tenet-host.${secret}.${host}`;
export const formatJoinToken = (t: JoinToken): string => `tenet-join.${t.caHash}.${t.id}.${t.secret}`;

export function parseBearer(text: string): Bearer | undefined {
  const admin = ADMIN.exec(text);
  if (admin) return { kind: 'admin', secret: admin[1]! };
  const host = HOST.exec(text);
  return host ? { kind: 'host', secret: host[1]!, host: host[2]! } : undefined;
}

export function parseJoinToken(text: string): JoinToken | undefined {
  const m = JOIN.exec(text.trim());
  return m ? { caHash: m[1]!, id: m[2]!, secret: m[3]! } : undefined;
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Constant-time comparison of two hex digests (a timing side channel would leak the hash). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The hash a join token carries: SHA-256 of the CA certificate's DER bytes. */
export const caCertHash = (pem: string): string => sha256Hex(new X509Certificate(pem).raw);

/** POST /v1/tokens (admin): a join token for agents. */
export interface CreateTokenRequest {
  kind: 'agent';
  /** Lifetime in seconds (default a day). */
  ttlSeconds?: number;
}

export interface CreatedToken {
  id: string;
  token: string;
  expires: string;
}

/** GET /v1/tokens (admin): join tokens and host credentials, never their secrets. */
export interface TokenInfo {
  id: string;
  kind: 'join' | 'host';
  host?: string;
  created: string;
  expires?: string;
  expired?: boolean;
}

/** POST /v1/join (no bearer: the join token is the proof): the host name to bind. */
export interface JoinRequest {
  /** `<id>.<secret>` of the join token (the CA hash is not a secret and is not sent). */
  token: string;
  host: string;
}

export interface JoinResponse {
  host: string;
  credential: string;
}
