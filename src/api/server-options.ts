/**
 * Limits shared by both HTTP servers (the controller's and the agent's), so that a slow or
 * hostile client costs a bounded amount (issue #5: a request body sent slowly was held open
 * forever). Sized around the one long request Tenet has, the watch stream: a GET with no
 * body whose response lasts hours, with a bookmark line at least every few seconds.
 *
 * - requestTimeout: the whole request (headers and body) must arrive within 30 s. Node
 *   stops the clock once the request is complete, so a watch response is never cut
 *   (tested). It must reach http.createServer itself: set only as a property afterwards,
 *   as fastify does, Node never enforced it (Node 20, checked in server-options.test.ts).
 * - connectionTimeout: a socket with no traffic either way for 5 minutes is closed; a watch
 *   sends a bookmark every 5 s (DEFAULT_BOOKMARK_MS), an attach answers within seconds.
 * - keepAliveTimeout: 72 s between requests on a kept-alive socket (fastify's default,
 *   above the usual 60 s of proxies and client pools, so the client closes first).
 * - bodyLimit: 256 KiB. Tenet's bodies are a few hundred bytes; labels add a few KB.
 */
import type { ServerOptions } from 'node:http';

export interface ServerLimits {
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyLimitBytes: number;
  /** How often Node looks for requests past their timeout. */
  checkIntervalMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 300_000,
  keepAliveTimeoutMs: 72_000,
  bodyLimitBytes: 256 * 1024,
  checkIntervalMs: 5_000,
};

/** Nesting a request body may have; deeper bodies are refused before any handler runs. */
export const MAX_BODY_DEPTH = 32;

export interface FastifyServerOptions {
  requestTimeout: number;
  connectionTimeout: number;
  keepAliveTimeout: number;
  bodyLimit: number;
  http: ServerOptions;
}

/** Spread into `Fastify({ logger: false, ...serverOptions() })`. */
export function serverOptions(overrides: Partial<ServerLimits> = {}): FastifyServerOptions {
  const l = { ...DEFAULT_LIMITS, ...overrides };
  return {
    requestTimeout: l.requestTimeoutMs,
    connectionTimeout: l.connectionTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    bodyLimit: l.bodyLimitBytes,
    http: { requestTimeout: l.requestTimeoutMs, headersTimeout: l.requestTimeoutMs, connectionsCheckingInterval: l.checkIntervalMs, keepAliveTimeout: l.keepAliveTimeoutMs },
  };
}
