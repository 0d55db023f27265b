/**
 * The schema of every controller route (ADR 009): params, query string, body and responses,
 * from the TypeBox definitions of model/schemas.ts and api/schemas.ts. api/openapi.ts
 * attaches each entry to its route and refuses a route that has none.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { OPENAPI_ROUTE, type RouteSchemas } from '../api/openapi.js';
import * as W from '../api/schemas.js';
import { MAX_LABEL_KEY, MAX_SELECTORS, MAX_TEXT } from '../model/limits.js';
import { EndpointSchema, NetworkSchema, PolicySchema, TenantSchema } from '../model/schemas.js';
import { ClusterStatusSchema } from './status-schema.js';

const Str = Type.String;
/** A path or query value: bounded like every request string (model/limits.ts). */
const Text = () => Str({ maxLength: MAX_TEXT });
const params = (...names: string[]) => Type.Object(Object.fromEntries(names.map((n) => [n, Text()])), { additionalProperties: false });
/** A label selector, key=value: a key and a value at their ceilings. */
const Selector = () => Str({ maxLength: MAX_LABEL_KEY + 1 + MAX_TEXT });
const list = (item: TSchema) => Type.Array(item);
const NO_CONTENT = { 204: Type.Null({ description: 'no content' }) };
const tenant = params('tenant');
const network = params('tenant', 'network');
const id = params('id');
const NETWORKS = '/v1/tenants/:tenant/networks';
const ADDRESSES = `${NETWORKS}/:network/addresses`;
const POLICIES = '/v1/tenants/:tenant/policies';
const policy = params('tenant', 'name');

export const CONTROLLER_ROUTES: RouteSchemas = {
  ...OPENAPI_ROUTE,
  'GET /v1/health': { response: { 200: W.HealthSchema } },
  'GET /v1/status': { summary: 'Store health and members, controller replicas and the leader, hosts up/down, objects not realized everywhere (admin)', response: { 200: ClusterStatusSchema } },
  'GET /v1/snapshot': {
    summary: 'Every object at one store revision; with host, only what concerns that host (ADR 011)',
    querystring: Type.Object({ host: Type.Optional(Str({ maxLength: MAX_TEXT, description: 'only the view of this host (a host credential may name only itself)' })) }, { additionalProperties: false }),
    response: { 200: W.SnapshotSchema },
  },
  'GET /v1/watch': {
    summary: 'Changes after a revision, or what concerns one host, as a stream',
    description:
      'An NDJSON stream (content-type application/x-ndjson), one message per line: {"type":"put"|"delete","kind","revision","object"}, ' +
      '{"type":"bookmark","revision"} when idle, or {"type":"compacted","revision"} (then the stream ends: list again with GET /v1/snapshot). ' +
      'With host: the host\'s view as put lines, then {"type":"synced","revision"}, then the changes that concern it (ADR 011); with host and revision, ' +
      'the view is at that revision or later (this replica waits for its fan-out to reach it, else 503 REPLICA_BEHIND; ADR 023). ' +
      'A watcher that falls behind is sent {"type":"resync","revision","reason"} and the stream ends: list again. ' +
      'The response is written directly, not through a response schema.',
    querystring: Type.Object(
      {
        revision: Type.Optional(Str({ pattern: '^[0-9]+$', maxLength: 16, description: 'store revision to start after (unfiltered stream), or that the host has applied already (with host)' })),
        host: Type.Optional(Str({ maxLength: MAX_TEXT, description: 'only what concerns this host (a host credential may name only itself)' })),
      },
      { additionalProperties: false },
    ),
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
  [`GET ${NETWORKS}/:network/bridged-traffic`]: { summary: "Whether the network's bridged traffic meets conntrack and the rules (br_netfilter on its bridges), and which policies make it so", params: network, response: { 200: W.BridgedTrafficSchema } },
  [`DELETE ${NETWORKS}/:network`]: { params: network, response: NO_CONTENT },
  [`PATCH ${NETWORKS}/:network`]: {
    summary: "Attach exactly these policies to the network, in order ([] detaches all; POLICY_NOT_FOUND names a missing one); set the DNS forwarder for names outside the tenant zone (dnsUpstream, '' removes it)",
    params: network,
    body: W.UpdateNetworkBody,
    response: { 200: NetworkSchema },
  },

  'GET /v1/policies': { summary: "Every tenant's policies", response: { 200: list(PolicySchema) } },
  [`GET ${POLICIES}`]: { params: tenant, response: { 200: list(PolicySchema) } },
  [`POST ${POLICIES}`]: {
    summary: 'Create a policy from rules in the rule language (README "Policies"); one bad rule creates nothing and its error names the rule and position',
    params: tenant,
    body: W.CreatePolicyBody,
    response: { 201: PolicySchema },
  },
  [`GET ${POLICIES}/:name`]: { summary: 'The policy, the networks it is attached to, and the hosts that enforce its current version', params: policy, response: { 200: W.PolicyDetailSchema } },
  [`PATCH ${POLICIES}/:name`]: { summary: 'Remove rules by 1-based number, then add rules at the end, in one write', params: policy, body: W.UpdatePolicyBody, response: { 200: PolicySchema } },
  [`PUT ${POLICIES}/:name/rates`]: {
    summary: "Set the rate limit of one target (net:, group: or ep:), replacing its previous one; both rates absent removes it. Rates in tc units (20mbit)",
    params: policy,
    body: W.PolicyRateBody,
    response: { 200: PolicySchema },
  },
  [`DELETE ${POLICIES}/:name`]: { summary: 'Delete a policy; refused while attached to a network (POLICY_IN_USE)', params: policy, response: NO_CONTENT },
  'POST /v1/tenants/:tenant/policy-check': {
    summary: 'The verdict for one flow and the rule that decides it, from the same compiled form the datapath enforces',
    params: tenant,
    body: W.PolicyCheckBody,
    response: { 200: W.PolicyCheckResultSchema },
  },

  [`POST ${NETWORKS}/:network/endpoints`]: {
    summary: 'Create an endpoint: detached, or attached when an attachment is given (host is then required); an existing id makes it idempotent',
    params: network,
    body: W.CreateEndpointBody,
    response: { 200: EndpointSchema, 201: EndpointSchema },
  },
  'GET /v1/endpoints': {
    querystring: Type.Object(
      {
        tenant: Type.Optional(Text()),
        network: Type.Optional(Text()),
        host: Type.Optional(Text()),
        label: Type.Optional(Type.Union([Selector(), Type.Array(Selector(), { maxItems: MAX_SELECTORS })], { description: 'key=value or key; repeat for AND' })),
      },
      { additionalProperties: false },
    ),
    response: { 200: list(EndpointSchema) },
  },
  'GET /v1/endpoints/:id': { params: id, response: { 200: EndpointSchema } },
  'GET /v1/endpoints/:id/realized': { params: id, response: { 200: W.EndpointRealizationSchema } },
  'PATCH /v1/endpoints/:id/status': { params: id, body: W.EndpointStatusBody, response: { 200: EndpointSchema } },
  'PUT /v1/endpoints/:id/attachment': { params: id, body: W.AttachEndpointBody, response: { 200: EndpointSchema } },
  'DELETE /v1/endpoints/:id/attachment': { params: id, response: { 200: EndpointSchema } },
  'PATCH /v1/endpoints/:id/labels': { params: id, body: W.LabelPatchBody, response: { 200: EndpointSchema } },
  'PUT /v1/endpoints/:id/name': {
    summary: "Name or rename an endpoint (Docker's driver names its endpoints after their containers); ENDPOINT_NAME_IN_USE: another endpoint of the network has the name",
    params: id,
    body: W.EndpointNameBody,
    response: { 200: EndpointSchema },
  },
  'PUT /v1/endpoints/:id/ports': {
    summary: "Replace the endpoint's published ports ([] clears them); its host's agent realizes them (ADR 016). HOST_PORT_IN_USE: another endpoint of the host publishes one",
    params: id,
    body: W.EndpointPortsBody,
    response: { 200: EndpointSchema },
  },
  'DELETE /v1/endpoints/:id': {
    summary: 'Delete an endpoint, releasing its address; with reclaimed=WHY (an agent), recorded for GET /v1/reclaimed',
    params: id,
    querystring: Type.Object({ reclaimed: Type.Optional(Str({ maxLength: MAX_TEXT, description: 'why its agent reclaims it (one line)' })) }, { additionalProperties: false }),
    response: NO_CONTENT,
  },
  'GET /v1/reclaimed': {
    summary: 'Endpoints agents released on their own (namespace gone or replaced), newest first; the last 1000, at most 24 h old',
    querystring: Type.Object({ tenant: Type.Optional(Text()), network: Type.Optional(Text()), host: Type.Optional(Text()) }, { additionalProperties: false }),
    response: { 200: list(W.ReclaimedEndpointSchema) },
  },

  [`GET ${ADDRESSES}`]: { params: network, response: { 200: list(W.ReservationSchema) } },
  [`POST ${ADDRESSES}`]: { summary: 'Reserve an address (body optional)', optionalBody: true, params: network, body: W.ReserveAddressBody, response: { 201: W.ReservationSchema } },
  [`DELETE ${ADDRESSES}/:ip`]: { params: params('tenant', 'network', 'ip'), response: NO_CONTENT },

  'GET /v1/hosts': { summary: 'Every registered host, up (its lease is alive) or down', response: { 200: list(W.HostViewSchema) } },
  'PUT /v1/hosts/:name': {
    summary: "Register a host: writes its record only when new or changed, and grants (or renews) the lease that keeps it up",
    params: params('name'),
    body: W.RegisterHostBody,
    response: { 200: W.HostRegistrationSchema, 201: W.HostRegistrationSchema },
  },
  'POST /v1/hosts/:name/heartbeat': { summary: "Keep the host's lease alive (no store write); LEASE_EXPIRED: register again", params: params('name'), body: W.HeartbeatBody, response: NO_CONTENT },
  'PUT /v1/hosts/:name/realized': { summary: 'The store revision the host has realized (an internal key: no agent is told)', params: params('name'), body: W.RealizedBody, response: NO_CONTENT },
  'POST /v1/hosts/:name/evict': { summary: 'Remove a down host, its endpoints and their addresses; refused while the host is up (HOST_UP)', params: params('name'), response: NO_CONTENT },
  'DELETE /v1/hosts/:name': { summary: 'Decommission a host, up or down: its endpoints and their addresses go with it, and its lease is revoked', params: params('name'), response: NO_CONTENT },

  'POST /v1/tokens': { body: W.CreateTokenBody, response: { 201: W.CreatedTokenSchema } },
  'GET /v1/tokens': { response: { 200: list(W.TokenInfoSchema) } },
  'DELETE /v1/tokens/:id': { params: id, response: NO_CONTENT },
  'DELETE /v1/hosts/:name/credential': { params: params('name'), response: NO_CONTENT },
  'PUT /v1/hosts/:name/docker-tenants': {
    summary: "Let a joined host's agent create and delete networks (docker network create/rm) and hold reservations without a TTL in these tenants; [] takes it back. Admin only",
    params: params('name'),
    body: W.DockerTenantsBody,
    response: { 200: W.DockerTenantsSchema },
  },
  'GET /v1/hosts/:name/docker-tenants': {
    summary: "The tenants a joined host's agent may create and delete Docker networks in; admin, or the host itself",
    params: params('name'),
    response: { 200: W.DockerTenantsSchema },
  },
  'POST /v1/join': { summary: 'Exchange a join token for a host credential; no bearer needed', body: W.JoinBody, response: { 201: W.JoinResponseSchema } },
};
