/**
 * Route schemas for a server, from one table per server (ADR 009): every route must have an
 * entry, or registering it fails, so no route can go out unchecked or undocumented. The
 * table's schema is attached to the route as fastify registers it (so route files keep
 * their logic as it was), checked by fastify's Ajv, and published as OpenAPI 3 at
 * GET /v1/openapi.json by @fastify/swagger (generation only, no UI).
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { WireErrorSchema } from './schemas.js';

/** A route's schema, by "METHOD /path" as registered (HEAD routes use their GET's). */
export type RouteSchemas = Record<string, RouteSchema>;
export type RouteSchema = FastifySchema & {
  description?: string;
  summary?: string;
  /** The body may be left out (then it is checked as {}). */
  optionalBody?: boolean;
};

export const OPENAPI_PATH = '/v1/openapi.json';

/** Error answers every route may give, added to each route's responses. */
const ERRORS = { '4xx': WireErrorSchema, '5xx': WireErrorSchema };

/** Installs the table and the OpenAPI route. Call before registering any route; await it. */
export async function installRouteSchemas(app: FastifyInstance, table: RouteSchemas, title: string, version: string): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || (Array.isArray(route.method) && route.method.length === 1 && route.method[0] === 'HEAD')) return;
    const key = `${String(route.method)} ${route.url}`;
    const entry = table[key];
    if (!entry) throw new Error(`route ${key} has no schema in its server's table (ADR 009)`);
    const { optionalBody, ...schema } = entry;
    route.schema = { ...schema, response: { ...(schema.response as object | undefined), ...ERRORS } };
    if (optionalBody) route.preValidation = [...[route.preValidation ?? []].flat(), defaultBody];
  });
  await app.register(swagger, {
    openapi: { openapi: '3.0.3', info: { title, version, description: 'Generated from the route schemas; errors are {"error":{"code","message"}} with the codes of docs/errors.md.' } },
  });
  app.get(OPENAPI_PATH, async () => app.swagger());
}

async function defaultBody(req: FastifyRequest): Promise<void> {
  req.body ??= {};
}

/** The table entry of the OpenAPI route itself. */
export const OPENAPI_ROUTE: RouteSchemas = {
  [`GET ${OPENAPI_PATH}`]: { summary: 'This document: OpenAPI 3, generated from the route schemas', response: { 200: { type: 'object', additionalProperties: true } } },
};
