/**
 * Who may call the controller (issue 5, part 1; ADR 006). The control path is a root shell
 * on every host, so:
 *
 * - over the unix socket (root-only, 0600) every caller is admin;
 * - over TCP (always TLS: `tlsServerOptions` refuses to build a TCP app without a certificate)
 *   every request but the two public join routes carries a bearer token: the admin token,
 *   or a host credential that `access.ts` confines to what that host's agent needs.
 *
 * Authentication runs onRequest (a stranger is refused before its body is read);
 * authorization runs preHandler, where the parsed body is there to check.
 */
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { parseBearer, sameDigest, sha256Hex, type Caller } from '../api/credentials.js';
import { TenetError } from '../model/errors.js';
import { authorize } from './access.js';
import type { Ctx } from './repo.js';
import { dockerGrantRoutes } from './docker-grants.js';
import { tokenRoutes, verifyHostCredential } from './tokens.js';

export interface ControllerAuth {
  /** 'unix': the root-only socket, every caller is admin. 'tcp': bearer tokens, over TLS. */
  transport: 'unix' | 'tcp';
  /** SHA-256 (hex) of the admin token; required for 'tcp'. */
  adminTokenHash?: string;
  /** The CA agents trust (PEM); without it no join token can be made. */
  caPem?: string;
  caHash?: string;
}

export interface TlsMaterial {
  key: string;
  cert: string;
}

/** What an app serves without a bearer: the CA (checked against a join token's hash) and the join itself. */
const PUBLIC_ROUTES = new Set(['GET /v1/ca', 'POST /v1/join']);

const NO_TOKEN_FIX = 'pass --token (or set TENET_TOKEN, or --token-file) with the admin token from DATA_DIR/admin.token; agents join with --join-token';

/** Fastify server options: https when a certificate is given; a TCP app without one is refused. */
export function tlsServerOptions(auth: ControllerAuth | undefined, tls: TlsMaterial | undefined): Partial<FastifyServerOptions> {
  if (auth?.transport === 'tcp' && !tls) throw new TenetError('TLS_SETUP_FAILED', 'the TCP API is served over TLS only, and no certificate was given', 'this is a bug in the caller: pass the TLS material');
  return tls ? ({ https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' } } as Partial<FastifyServerOptions>) : {};
}

/** Installs the token routes and the authentication and authorization hooks. */
export function installAuth(app: FastifyInstance, ctx: Ctx, auth: ControllerAuth = { transport: 'unix' }): void {
  const callers = new WeakMap<FastifyRequest, Caller>();
  app.get('/v1/ca', async (_req, reply) => {
    if (!auth.caPem) throw new TenetError('TOKEN_NOT_FOUND', 'this controller has no CA: it serves no TCP listener', 'restart it with --listen ADDRESS:7400');
    return reply.type('application/x-pem-file').send(auth.caPem);
  });
  tokenRoutes(app, ctx, auth.caHash);
  dockerGrantRoutes(app, ctx);
  app.addHook('onRequest', async (req) => {
    if (PUBLIC_ROUTES.has(routeOf(req))) return;
    callers.set(req, auth.transport === 'unix' ? { role: 'admin' } : await authenticate(ctx, auth, req));
  });
  app.addHook('preHandler', async (req) => {
    const caller = callers.get(req);
    if (caller) await authorize(ctx, caller, routeOf(req), req);
  });
}

/** "METHOD /route/:pattern" (HEAD is a GET); unknown paths keep their raw path. */
export function routeOf(req: FastifyRequest): string {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  return `${method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
}

async function authenticate(ctx: Ctx, auth: ControllerAuth, req: FastifyRequest): Promise<Caller> {
  const header = req.headers.authorization;
  if (!header) throw new TenetError('UNAUTHENTICATED', 'the controller requires a token over TCP', NO_TOKEN_FIX);
  const m = /^Bearer (\S+)$/.exec(header);
  const bearer = m ? parseBearer(m[1]!) : undefined;
  if (bearer?.kind === 'admin' && auth.adminTokenHash && sameDigest(auth.adminTokenHash, sha256Hex(bearer.secret))) return { role: 'admin' };
  if (bearer?.kind === 'host' && (await verifyHostCredential(ctx, bearer.host, bearer.secret))) return { role: 'host', host: bearer.host };
  ctx.log.warn({ method: req.method, url: req.url.slice(0, 200), from: req.ip }, 'request with an unknown token refused');
  throw new TenetError('UNAUTHENTICATED', 'the controller does not accept this token (wrong, or revoked)', NO_TOKEN_FIX);
}
