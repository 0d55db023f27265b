/**
 * Join tokens and host credentials (ADR 006). Both live in the store under alloc/auth/, an
 * internal prefix that snapshots and watches never forward, so no agent ever sees another's
 * hash; only the SHA-256 of each secret is stored.
 *
 * A join token is reusable until it expires or is deleted (as kubeadm's bootstrap tokens),
 * so one token joins a batch of hosts. What stops a token holder from taking over an existing
 * host's name (and so its VTEP) is that a host name joins once: its credential is created
 * if absent, and a second join for it is refused until an admin revokes the first.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  formatHostCredential,
  formatJoinToken,
  sameDigest,
  sha256Hex,
  type CreatedToken,
  type JoinResponse,
  type TokenInfo,
} from '../api/credentials.js';
import { TenetError } from '../model/errors.js';
import { ROOT } from '../model/keys.js';
import { validateHostName } from '../model/validate.js';
import { bodyObject } from './body.js';
import { encode, getObj, listObjs, nowIso, type Ctx } from './repo.js';

export const authKeys = {
  joins: () => `${ROOT}alloc/auth/join/`,
  join: (id: string) => `${ROOT}alloc/auth/join/${id}`,
  hosts: () => `${ROOT}alloc/auth/host/`,
  host: (name: string) => `${ROOT}alloc/auth/host/${name}`,
};

interface StoredJoin {
  id: string;
  hash: string;
  created: string;
  expires: string;
}

interface StoredHostCredential {
  host: string;
  hash: string;
  created: string;
  joinToken: string;
}

export const DEFAULT_JOIN_TTL_SECONDS = 24 * 3600;
const MAX_JOIN_TTL_SECONDS = 365 * 24 * 3600;
const JOIN_SECRET = /^([0-9a-f]{12})\.([0-9a-f]{32})$/;
const NEW_JOIN_FIX = 'create a new one with `tenet token create --agent` on the controller';

/** Registers the admin token routes and the public join route. `caHash` is undefined without TLS. */
export function tokenRoutes(app: FastifyInstance, ctx: Ctx, caHash: string | undefined): void {
  app.post('/v1/tokens', async (req, reply) => reply.code(201).send(await createJoinToken(ctx, caHash, req.body)));
  app.get('/v1/tokens', async () => listTokens(ctx));
  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', async (req, reply) => {
    await removeRecord(ctx, authKeys.join(req.params.id), `join token ${req.params.id}`);
    return reply.code(204).send();
  });
  app.delete<{ Params: { name: string } }>('/v1/hosts/:name/credential', async (req, reply) => {
    await removeRecord(ctx, authKeys.host(validateHostName(req.params.name)), `credential of host ${req.params.name}`);
    return reply.code(204).send();
  });
  app.post('/v1/join', async (req, reply) => reply.code(201).send(await join(ctx, req.body)));
}

async function createJoinToken(ctx: Ctx, caHash: string | undefined, body: unknown): Promise<CreatedToken> {
  const b = bodyObject(body);
  if (b.kind !== 'agent') throw new TenetError('BAD_REQUEST', `unknown token kind ${JSON.stringify(b.kind)}`, 'the only kind is "agent"');
  const ttl = b.ttlSeconds ?? DEFAULT_JOIN_TTL_SECONDS;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_JOIN_TTL_SECONDS) {
    throw new TenetError('BAD_REQUEST', `invalid ttlSeconds ${JSON.stringify(ttl)}`, `give whole seconds from 1 to ${MAX_JOIN_TTL_SECONDS}`);
  }
  if (!caHash) throw new TenetError('BAD_REQUEST', 'this controller has no TCP listener, so no agent can join it', 'restart it with --listen ADDRESS:7400 (TLS is set up on the first start)');
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(16).toString('hex');
  const record: StoredJoin = { id, hash: sha256Hex(secret), created: nowIso(), expires: new Date(Date.now() + ttl * 1000).toISOString() };
  const res = await ctx.store.create(authKeys.join(id), encode(record));
  if (!res.ok) throw new TenetError('STORE_CONFLICT', 'a join token with the same random id exists', 'try again');
  ctx.log.info({ token: id, expires: record.expires }, 'join token created');
  return { id, token: formatJoinToken({ caHash, id, secret }), expires: record.expires };
}

async function listTokens(ctx: Ctx): Promise<TokenInfo[]> {
  const now = Date.now();
  const joins = (await listObjs<StoredJoin>(ctx.store, authKeys.joins())).items;
  const hosts = (await listObjs<StoredHostCredential>(ctx.store, authKeys.hosts())).items;
  return [
    ...joins.map((j): TokenInfo => ({ id: j.id, kind: 'join', created: j.created, expires: j.expires, expired: Date.parse(j.expires) <= now })),
    ...hosts.map((h): TokenInfo => ({ id: h.host, kind: 'host', host: h.host, created: h.created })),
  ];
}

async function removeRecord(ctx: Ctx, key: string, what: string): Promise<void> {
  const res = await ctx.store.delete(key);
  if (!res.ok) throw new TenetError('TOKEN_NOT_FOUND', `no ${what}`, 'list them with `tenet token ls`');
  ctx.log.info({ key: key.slice(`${ROOT}alloc/auth/`.length) }, `${what} removed`);
}

/** Exchanges a valid join token for a credential bound to `host`, once per host name. */
async function join(ctx: Ctx, body: unknown): Promise<JoinResponse> {
  const b = bodyObject(body);
  const host = validateHostName(b.host);
  const m = typeof b.token === 'string' ? JOIN_SECRET.exec(b.token) : null;
  if (!m) throw new TenetError('UNAUTHENTICATED', 'the join token is malformed', NEW_JOIN_FIX);
  const stored = await getObj<StoredJoin>(ctx.store, authKeys.join(m[1]!));
  if (!stored || !sameDigest(stored.obj.hash, sha256Hex(m[2]!))) throw new TenetError('UNAUTHENTICATED', 'the join token is unknown or was deleted', NEW_JOIN_FIX);
  if (Date.parse(stored.obj.expires) <= Date.now()) throw new TenetError('UNAUTHENTICATED', `the join token expired at ${stored.obj.expires}`, NEW_JOIN_FIX);
  const secret = randomBytes(32).toString('hex');
  const record: StoredHostCredential = { host, hash: sha256Hex(secret), created: nowIso(), joinToken: stored.obj.id };
  const res = await ctx.store.create(authKeys.host(host), encode(record));
  if (!res.ok) {
    throw new TenetError('FORBIDDEN', `host ${host} has joined already`, `if its agent lost its credential, revoke the old one with \`tenet token rm --host ${host}\` and join again`);
  }
  ctx.log.info({ host, token: stored.obj.id }, 'host joined');
  return { host, credential: formatHostCredential(host, secret) };
}

/** Whether `secret` is the stored credential of `host`. */
export async function verifyHostCredential(ctx: Ctx, host: string, secret: string): Promise<boolean> {
  const stored = await getObj<StoredHostCredential>(ctx.store, authKeys.host(host));
  return stored !== undefined && sameDigest(stored.obj.hash, sha256Hex(secret));
}
