/**
 * The controller's HTTP API (/v1), served by fastify over any Store. The controller keeps
 * no state of its own: every request reads and conditionally writes the store, so several
 * replicas can serve one store (DESIGN.md "Processes").
 *
 * Fastify's own logger is off; the injected Logger records each request at debug and each
 * change at info, with tenant/network/endpoint/host as fields.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { schemaServerOptions } from '../api/http-errors.js';
import { installRouteSchemas } from '../api/openapi.js';
import { serverOptions } from '../api/server-options.js';
import type { Logger } from '../base/logger.js';
import type { Store } from '../store/types.js';
import { addressRoutes } from './addresses.js';
import { installAuth, tlsServerOptions, type ControllerAuth, type TlsMaterial } from './auth.js';
import { endpointRoutes } from './endpoints.js';
import { installErrorHandler } from './error-handler.js';
import { Fanout } from './fanout.js';
import { hostRoutes } from './hosts.js';
import { DEFAULT_HOST_LEASE_MS } from './liveness.js';
import { networkRoutes } from './networks.js';
import { policyRoutes } from './policies.js';
import { reclaimedRoutes } from './reclaimed.js';
import { CONTROLLER_ROUTES } from './route-schemas.js';
import { snapshotRoutes } from './snapshot.js';
import { statusRoutes } from './status.js';
import { tenantRoutes } from './tenants.js';
import { watchRoutes } from './watch.js';
import { DEFAULT_WATCH_BUFFER_BYTES } from './watch-writer.js';

export interface ControllerAppOptions {
  store: Store;
  logger: Logger;
  version: string;
  /** Idle time after which a watch stream sends a bookmark line. */
  bookmarkMs?: number;
  /** TTL of the lease that keeps a host up; agents keep it alive every third of it (liveness.ts). */
  hostLeaseMs?: number;
  /**
   * How far a watch stream may fall behind (bytes its response buffers beyond the initial
   * sync) before it is cut off with a `resync` line (ADR 011). Default 8 MiB.
   */
  watchBufferBytes?: number;
  /** How long a host watch resuming from a revision waits for this replica to reach it (ADR 023). */
  watchCatchUpMs?: number;
  /** Who may call (default: the unix socket's "everyone is admin"); see auth.ts. */
  auth?: ControllerAuth;
  /** Serve https with this key and certificate (required when auth.transport is 'tcp'). */
  tls?: TlsMaterial;
}

export const DEFAULT_BOOKMARK_MS = 5_000;

/**
 * Builds the app with every /v1 route. The returned instance has booted (fastify instances
 * are thenables, and an async function awaits what it returns): call listen() or inject(),
 * and close() to end open watch streams and stop.
 */
export async function buildControllerApp(opts: ControllerAppOptions): Promise<FastifyInstance> {
  // The limits reach the https server too: https.createServer takes the same options as http.
  const limits = serverOptions();
  const tls = tlsServerOptions(opts.auth, opts.tls) as { https?: object };
  const app = Fastify({ logger: false, ...schemaServerOptions, ...limits, ...(tls.https ? { https: { ...limits.http, ...tls.https } } : {}) }) as unknown as FastifyInstance;
  const ctx = { store: opts.store, log: opts.logger };
  // One store watch for every agent's filtered stream; its routes wait for it to load.
  const fanout = new Fanout(opts.store, opts.logger);
  fanout.start();
  installErrorHandler(app, opts.logger);
  app.addHook('onResponse', async (req, reply) => {
    opts.logger.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  // Before any route: each route takes its schema from the table as it is registered.
  await installRouteSchemas(app, CONTROLLER_ROUTES, 'Tenet controller API', opts.version);
  installAuth(app, ctx, opts.auth);
  app.addHook('onClose', async () => fanout.stop());
  snapshotRoutes(app, ctx, opts.version, fanout);
  tenantRoutes(app, ctx);
  networkRoutes(app, ctx);
  const realization = { carriers: (tenant: string) => fanout.index.hostsWith(tenant), realizedAt: (key: string) => fanout.index.byKey.get(key)?.realizedAt };
  endpointRoutes(app, ctx, realization);
  policyRoutes(app, ctx, realization);
  addressRoutes(app, ctx);
  reclaimedRoutes(app, ctx);
  hostRoutes(app, ctx, opts.hostLeaseMs ?? DEFAULT_HOST_LEASE_MS);
  statusRoutes(app, ctx, realization);
  watchRoutes(app, ctx, { bookmarkMs: opts.bookmarkMs ?? DEFAULT_BOOKMARK_MS, bufferBytes: opts.watchBufferBytes ?? DEFAULT_WATCH_BUFFER_BYTES, fanout, catchUpMs: opts.watchCatchUpMs });
  return app;
}
