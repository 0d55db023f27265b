/**
 * The schema of every controller route (ADR 009): params, query string, body and responses,
 * from the TypeBox definitions of model/schemas.ts and api/schemas.ts. api/openapi.ts
 * attaches each entry to its route and refuses a route that has none.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { OPENAPI_ROUTE, type RouteSchemas } from '../api/openapi.js';
import * as W from '../api/schemas.js';
import { EndpointSchema, HostSchema, NetworkSchema, TenantSchema } from '../model/schemas.js';

const Str = Type.String;
const params = (...names: string[]) => Type.Object(Object.fromEntries(names.map((n) => [n, Str()])));
const list = (item: TSchema) => Type.Array(item);
const NO_CONTENT = { 204: Type.Null({ description: 'no content' }) };
const tenant = params('tenant');
const network = params('tenant', 'network');
const id = params('id');
const NETWORKS = '/v1/tenants/:tenant/networks';
const ADDRESSES = `${NETWORKS}/:network/addresses`;

export const CONTROLLER_ROUTES: RouteSchemas = {
  ...OPENAPI_ROUTE,
  'GET /v1/health': { response: { 200: W.HealthSchema } },
  'GET /v1/snapshot': {
    summary: 'Every object at one store revision; with host, only what concerns that host (ADR 011)',
    querystring: Type.Object({ host: Type.Optional(Str({ description: 'only the view of this host (a host credential may name only itself)' })) }),
    response: { 200: W.SnapshotSchema },
  },
  'GET /v1/watch': {
    summary: 'Changes after a revision, or what concerns one host, as a stream',
    description:
      'An NDJSON stream (content-type application/x-ndjson), one message per line: {"type":"put"|"delete","kind","revision","object"}, ' +
      '{"type":"bookmark","revision"} when idle, or {"type":"compacted","revision"} (then the stream ends: list again with GET /v1/snapshot). ' +
      'With host (and no revision): the host\'s view as put lines, then {"type":"synced","revision"}, then the changes that concern it (ADR 011). ' +
      'A watcher that falls behind is sent {"type":"resync","revision","reason"} and the stream ends: list again. ' +
      'The response is written directly, not through a response schema.',
    querystring: Type.Object({
      revision: Type.Optional(Str({ pattern: '^[0-9]+$', description: 'store revision to start after (unfiltered stream)' })),
      host: Type.Optional(Str({ description: 'only what concerns this host (a host credential may name only itself)' })),
    }),
  },
  'GET /v1/ca': { summary: 'The CA certificate of the TCP listener (PEM, application/x-pem-file); no bearer needed' },

  'GET /v1/tenants': { response: { 200: list(TenantSchema) } },
  'POST /v1/tenants': { body: W.CreateTenantBody, response: { 201: TenantSchema } },
  'GET /v1/tenants/:tenant': { params: tenant, response: { 200: TenantSchema } },
  'DELETE /v1/tenants/:tenant': { params: tenant, response: NO_CONTENT },

  'GET /v1/networks': { response: { 200: list(NetworkSchema) } },
  [`GET ${NETWORKS}`]: { params: tenant, response: { 200: list(NetworkSchema) } },
  [`POST ${NETWORKS}`]: { params: tenant, body: W.CreateNetworkBody, response: { 201: NetworkSchema } },
  [`GET ${NETWORKS}/:network`]: { params: network, response: { 200: NetworkSchema } },
  [`DELETE ${NETWORKS}/:network`]: { params: network, response: NO_CONTENT },

  [`POST ${NETWORKS}/:network/endpoints`]: {
    summary: 'Create an endpoint: detached, or attached when an attachment is given (host is then required); an existing id makes it idempotent',
    params: network,
    body: W.CreateEndpointBody,
    response: { 200: EndpointSchema, 201: EndpointSchema },
  },
  'GET /v1/endpoints': {
    querystring: Type.Object({
      tenant: Type.Optional(Str()),
      network: Type.Optional(Str()),
      host: Type.Optional(Str()),
      label: Type.Optional(Type.Union([Str(), Type.Array(Str())], { description: 'key=value or key; repeat for AND' })),
    }),
    response: { 200: list(EndpointSchema) },
  },
  'GET /v1/endpoints/:id': { params: id, response: { 200: EndpointSchema } },
  'GET /v1/endpoints/:id/realized': { params: id, response: { 200: W.EndpointRealizationSchema } },
  'PATCH /v1/endpoints/:id/status': { params: id, body: W.EndpointStatusBody, response: { 200: EndpointSchema } },
  'PUT /v1/endpoints/:id/attachment': { params: id, body: W.AttachEndpointBody, response: { 200: EndpointSchema } },
  'DELETE /v1/endpoints/:id/attachment': { params: id, response: { 200: EndpointSchema } },
  'PATCH /v1/endpoints/:id/labels': { params: id, body: W.LabelPatchBody, response: { 200: EndpointSchema } },
  'DELETE /v1/endpoints/:id': { params: id, response: NO_CONTENT },

  [`GET ${ADDRESSES}`]: { params: network, response: { 200: list(W.ReservationSchema) } },
  [`POST ${ADDRESSES}`]: { summary: 'Reserve an address (body optional)', optionalBody: true, params: network, body: W.ReserveAddressBody, response: { 201: W.ReservationSchema } },
  [`DELETE ${ADDRESSES}/:ip`]: { params: params('tenant', 'network', 'ip'), response: NO_CONTENT },

  'GET /v1/hosts': { response: { 200: list(HostSchema) } },
  'PUT /v1/hosts/:name': { params: params('name'), body: W.RegisterHostBody, response: { 200: HostSchema, 201: HostSchema } },
  'DELETE /v1/hosts/:name': { params: params('name'), response: NO_CONTENT },

  'POST /v1/tokens': { body: W.CreateTokenBody, response: { 201: W.CreatedTokenSchema } },
  'GET /v1/tokens': { response: { 200: list(W.TokenInfoSchema) } },
  'DELETE /v1/tokens/:id': { params: id, response: NO_CONTENT },
  'DELETE /v1/hosts/:name/credential': { params: params('name'), response: NO_CONTENT },
  'POST /v1/join': { summary: 'Exchange a join token for a host credential; no bearer needed', body: W.JoinBody, response: { 201: W.JoinResponseSchema } },
};
