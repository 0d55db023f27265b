/**
 * The wire contract of types.ts and credentials.ts as JSON Schema (TypeBox), for fastify to
 * check requests and serialize responses with, and for the OpenAPI document (ADR 009).
 *
 * Request schemas check shape only (types, required fields); what a value means (a CIDR, a
 * label key, an MTU range) stays with the validators of src/model, which give the specific
 * error codes. So a request schema may accept more than its interface (a field the server
 * defaults), never less: `Accepts` checks that. Response schemas must match their interface
 * exactly (`Matches`), since fastify's serializer drops whatever its schema does not name.
 *
 * Every request string, array and object has a size ceiling (model/limits.ts; issue 6), and
 * request objects name all their fields (additionalProperties: false, so fastify's Ajv drops
 * a field no schema names before a handler sees it): route-bounds.test.ts walks every route
 * of both servers to check it. `Accepts` also checks that every field of the interface is
 * named, so a new field cannot be dropped unnoticed.
 */
import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { MAX_PORTS } from '../model/ports.js';
import { MAX_LABEL_KEY, MAX_LABELS_IN_REQUEST, MAX_PATH, MAX_POLICIES_PER_NETWORK, MAX_POLICY_RULES, MAX_RULE_TEXT, MAX_STATUS_DETAIL, MAX_TEXT } from '../model/limits.js';
import { assertType, AttachmentSchema, EndpointSchema, EndpointStatusSchema, HostSchema, LabelsSchema, NetnsIdSchema, NetworkSchema, PolicySchema, TenantSchema, type Matches } from '../model/schemas.js';
import type { WireError } from '../model/errors.js';
import type { CreatedToken, CreateTokenRequest, JoinRequest, JoinResponse, TokenInfo } from './credentials.js';
import type {
  AttachEndpointRequest,
  AttachExistingRequest,
  AttachRequest,
  CreateEndpointRequest,
  CreateNetworkRequest,
  CreateTenantRequest,
  EndpointRealization,
  EndpointStatusRequest,
  EndpointPortsRequest,
  HeartbeatRequest,
  Health,
  HostRegistration,
  HostView,
  LabelPatchRequest,
  RealizedReport,
  RegisterHostRequest,
  ReclaimedEndpoint,
  Reservation,
  ReserveAddressRequest,
  Snapshot,
  UpdateNetworkRequest,
  CreatePolicyRequest,
  UpdatePolicyRequest,
  PolicyRateRequest,
  PolicyCheckRequest,
  PolicyCheckResult,
  PolicyRealization,
  BridgedTraffic,
  PolicyDetail,
} from './types.js';

/** Every value of the interface passes the schema, and the schema names every field of it. */
type Accepts<S extends TSchema, T> = [T] extends [Static<S>] ? ([Exclude<keyof T, keyof Static<S>>] extends [never] ? true : false) : false;

const Str = Type.String;
const Int = Type.Integer;
const Opt = Type.Optional;
/** A request string: bounded (model/limits.ts). */
const Text = (max = MAX_TEXT) => Str({ maxLength: max });
/** A request object: only the named fields (others are dropped before the handler). */
const Body = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

// ---- requests ----

export const CreateTenantBody = Body({ name: Text() });
export const CreateNetworkBody = Body({ name: Text(), subnet: Text(), gateway: Opt(Text()), mtu: Opt(Int()), vni: Opt(Int()) });

/** Either form of Attachment, checked field by field; validateAttachment checks the combination. */
export const AttachmentBody = Body({
  kind: Type.Union([Type.Literal('netns'), Type.Literal('handoff')]),
  netns: Opt(Text(MAX_PATH)),
  netnsId: Opt(NetnsIdSchema),
  hostIfname: Opt(Text()),
  ifname: Opt(Text()),
});

export const CreateEndpointBody = Body({
  host: Opt(Text()),
  name: Opt(Text()),
  labels: Opt(LabelsSchema),
  ip: Opt(Text()),
  mac: Opt(Text()),
  id: Opt(Text()),
  attachment: Opt(AttachmentBody),
});
export const AttachEndpointBody = Body({ host: Text(), attachment: AttachmentBody });
export const LabelPatchBody = Body({ set: Opt(LabelsSchema), remove: Opt(Type.Array(Text(MAX_LABEL_KEY), { maxItems: MAX_LABELS_IN_REQUEST })) });
export const DockerTenantsBody = Body({ tenants: Type.Array(Text(32), { maxItems: 64 }) });
export const DockerTenantsSchema = Type.Object({ host: Str(), tenants: Type.Array(Str()) });
/** Shape only: validateEndpointName checks the characters, with INVALID_NAME. */
export const EndpointNameBody = Body({ name: Text(63) });
/** Shape only: validatePorts (model/ports.ts) checks ranges and clashes, with INVALID_PORT. */
export const EndpointPortsBody = Body({
  ports: Type.Array(Body({ hostPort: Int(), port: Int(), proto: Text(16), hostIp: Opt(Text(64)) }), { maxItems: MAX_PORTS }),
});
export const UpdateNetworkBody = Body({ policies: Opt(Type.Array(Text(), { maxItems: MAX_POLICIES_PER_NETWORK })), dnsUpstream: Opt(Text(64)) });
const RuleTexts = () => Type.Array(Text(MAX_RULE_TEXT), { maxItems: MAX_POLICY_RULES });
export const CreatePolicyBody = Body({ name: Text(), rules: RuleTexts() });
export const UpdatePolicyBody = Body({ addRules: Opt(RuleTexts()), removeRules: Opt(Type.Array(Int({ minimum: 1 }), { maxItems: MAX_POLICY_RULES })) });
export const PolicyRateBody = Body({ target: Text(MAX_RULE_TEXT), egress: Opt(Text(64)), ingress: Opt(Text(64)) });
export const PolicyCheckBody = Body({ from: Text(), to: Text(), proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp')]), port: Opt(Int({ minimum: 1, maximum: 65535 })) });
export const ReserveAddressBody = Body({
  ip: Opt(Text()),
  owner: Opt(Body({ kind: Type.Union([Type.Literal('request'), Type.Literal('floating-ip')]), id: Opt(Text()) })),
  ttlSeconds: Opt(Int()),
});
export const EndpointStatusBody = Body({ status: EndpointStatusSchema, detail: Opt(Text(MAX_STATUS_DETAIL)), mtu: Opt(Int()) });
export const RegisterHostBody = Body({ vtep: Text(), underlayMtu: Opt(Int()), underlay: Opt(Text()) });
export const HeartbeatBody = Body({ lease: Int({ minimum: 1 }) });
export const RealizedBody = Body({ revision: Int({ minimum: 0 }) });
export const CreateTokenBody = Body({ kind: Type.Literal('agent'), ttlSeconds: Opt(Int()) });
export const JoinBody = Body({ token: Text(), host: Text() });

export const AgentAttachBody = Body({
  tenant: Text(),
  network: Text(),
  netns: Opt(Text(MAX_PATH)),
  pid: Opt(Int()),
  handoff: Opt(Type.Boolean()),
  ifname: Opt(Text()),
  ip: Opt(Text()),
  mac: Opt(Text()),
  id: Opt(Text()),
  name: Opt(Text()),
  labels: Opt(LabelsSchema),
  idempotencyKey: Opt(Text()),
});
export const AgentAttachExistingBody = Body({ netns: Opt(Text(MAX_PATH)), pid: Opt(Int()), handoff: Opt(Type.Boolean()), ifname: Opt(Text()), idempotencyKey: Opt(Text()) });
/** `tenet attach CONTAINER` / `tenet detach CONTAINER` (agent/docker.ts). */
export const ContainerAttachBody = Body({ container: Text(), tenant: Text(), network: Text(), ip: Opt(Text()), ifname: Opt(Text()), labels: Opt(LabelsSchema) });
export const ContainerDetachBody = Body({ container: Text(), network: Opt(Text()) });

// ---- responses ----

export const ReservationSchema = Type.Object(
  {
    ip: Str(),
    owner: Type.Object({ kind: Type.Union([Type.Literal('endpoint'), Type.Literal('request'), Type.Literal('gateway'), Type.Literal('floating-ip')]), id: Str() }),
    createdAt: Str(),
    expiresAt: Opt(Str()),
  },
  { title: 'Reservation' },
);
export const ReclaimedEndpointSchema = Type.Object(
  {
    endpoint: Str(),
    name: Opt(Str()),
    tenant: Str(),
    network: Str(),
    ip: Str(),
    mac: Str(),
    host: Opt(Str()),
    attachment: Opt(AttachmentSchema),
    labels: Type.Record(Str(), Str()),
    why: Str({ description: 'why the agent released it: its namespace is gone, or the path now names another namespace' }),
    reclaimedAt: Str(),
  },
  { title: 'ReclaimedEndpoint' },
);
const HostStateSchema = Type.Union([Type.Literal('up'), Type.Literal('down')]);
const HostRealizedSchema = Type.Object({ host: Str(), state: HostStateSchema, realizedRevision: Int(), realized: Type.Boolean() });
export const PolicyRealizationSchema = Type.Object({ policy: Str(), revision: Int(), realized: Type.Boolean(), hosts: Type.Array(HostRealizedSchema) }, { title: 'PolicyRealization' });
export const BridgedTrafficSchema = Type.Object(
  {
    conntrack: Type.Boolean({ description: 'the agents turn br_netfilter on for its bridges: its bridged traffic meets the rules, statefully (docs/adr/013)' }),
    policies: Type.Array(Str(), { description: 'the policies whose rules act on its bridged traffic; empty when conntrack is false' }),
  },
  { title: 'BridgedTraffic' },
);
export const PolicyDetailSchema = Type.Object({ policy: PolicySchema, networks: Type.Array(Str()), realization: PolicyRealizationSchema }, { title: 'PolicyDetail' });
export const PolicyCheckResultSchema = Type.Object(
  {
    verdict: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('reject')]),
    rule: Type.Union([Type.Object({ policy: Str(), index: Int({ description: '1-based' }), text: Str() }), Type.Null()]),
    reason: Str(),
  },
  { title: 'PolicyCheckResult' },
);
export const EndpointRealizationSchema = Type.Object(
  {
    endpoint: Str(),
    revision: Int(),
    realized: Type.Boolean(),
    hosts: Type.Array(Type.Object({ host: Str(), state: HostStateSchema, realizedRevision: Int(), realized: Type.Boolean() })),
  },
  { title: 'EndpointRealization' },
);
export const HostLeaseSchema = Type.Object({ id: Int(), ttlMs: Int() }, { title: 'HostLease' });
export const HostRegistrationSchema = Type.Object({ host: HostSchema, lease: HostLeaseSchema }, { title: 'HostRegistration' });
export const HostViewSchema = Type.Object(
  { ...HostSchema.properties, state: HostStateSchema, since: Str(), leaseExpiresInMs: Opt(Int()), realizedRevision: Opt(Int()) },
  { title: 'HostView' },
);
export const HealthSchema = Type.Object(
  { ok: Type.Boolean(), role: Type.Union([Type.Literal('controller'), Type.Literal('agent')]), revision: Int(), version: Str(), host: Opt(Str()) },
  { title: 'Health' },
);
export const SnapshotSchema = Type.Object(
  {
    revision: Int(),
    objects: Type.Object({ tenant: Type.Array(TenantSchema), network: Type.Array(NetworkSchema), endpoint: Type.Array(EndpointSchema), host: Type.Array(HostSchema), policy: Type.Array(PolicySchema) }),
  },
  { title: 'Snapshot' },
);
export const CreatedTokenSchema = Type.Object({ id: Str(), token: Str(), expires: Str() }, { title: 'CreatedToken' });
export const TokenInfoSchema = Type.Object(
  { id: Str(), kind: Type.Union([Type.Literal('join'), Type.Literal('host')]), host: Opt(Str()), created: Str(), expires: Opt(Str()), expired: Opt(Type.Boolean()) },
  { title: 'TokenInfo' },
);
export const JoinResponseSchema = Type.Object({ host: Str(), credential: Str() }, { title: 'JoinResponse' });
export const WireErrorSchema = Type.Object({ error: Type.Object({ code: Str(), message: Str() }) }, { title: 'Error', description: 'every failure: a code of docs/errors.md and one line' });

assertType<Accepts<typeof CreateTenantBody, CreateTenantRequest>>();
assertType<Accepts<typeof CreateNetworkBody, CreateNetworkRequest>>();
assertType<Accepts<typeof CreateEndpointBody, CreateEndpointRequest>>();
assertType<Accepts<typeof AttachEndpointBody, AttachEndpointRequest>>();
assertType<Accepts<typeof LabelPatchBody, LabelPatchRequest>>();
assertType<Accepts<typeof EndpointPortsBody, EndpointPortsRequest>>();
assertType<Accepts<typeof ReserveAddressBody, ReserveAddressRequest>>();
assertType<Accepts<typeof EndpointStatusBody, EndpointStatusRequest>>();
assertType<Accepts<typeof RegisterHostBody, RegisterHostRequest>>();
assertType<Accepts<typeof HeartbeatBody, HeartbeatRequest>>();
assertType<Accepts<typeof RealizedBody, RealizedReport>>();
assertType<Matches<typeof HostRegistrationSchema, HostRegistration>>();
assertType<Matches<typeof HostViewSchema, HostView>>();
assertType<Accepts<typeof CreateTokenBody, CreateTokenRequest>>();
assertType<Accepts<typeof JoinBody, JoinRequest>>();
assertType<Accepts<typeof AgentAttachBody, AttachRequest>>();
assertType<Accepts<typeof AgentAttachExistingBody, AttachExistingRequest>>();
assertType<Accepts<typeof AttachmentBody, Static<typeof AttachmentSchema>>>();
assertType<Matches<typeof ReservationSchema, Reservation>>();
assertType<Matches<typeof ReclaimedEndpointSchema, ReclaimedEndpoint>>();
assertType<Matches<typeof EndpointRealizationSchema, EndpointRealization>>();
assertType<Matches<typeof HealthSchema, Health>>();
assertType<Matches<typeof SnapshotSchema, Snapshot>>();
assertType<Matches<typeof PolicyRealizationSchema, PolicyRealization>>();
assertType<Matches<typeof PolicyDetailSchema, PolicyDetail>>();
assertType<Matches<typeof BridgedTrafficSchema, BridgedTraffic>>();
assertType<Matches<typeof PolicyCheckResultSchema, PolicyCheckResult>>();
assertType<Accepts<typeof UpdateNetworkBody, UpdateNetworkRequest>>();
assertType<Accepts<typeof CreatePolicyBody, CreatePolicyRequest>>();
assertType<Accepts<typeof UpdatePolicyBody, UpdatePolicyRequest>>();
assertType<Accepts<typeof PolicyRateBody, PolicyRateRequest>>();
assertType<Accepts<typeof PolicyCheckBody, PolicyCheckRequest>>();
assertType<Matches<typeof CreatedTokenSchema, CreatedToken>>();
assertType<Matches<typeof TokenInfoSchema, TokenInfo>>();
assertType<Matches<typeof JoinResponseSchema, JoinResponse>>();
assertType<Matches<typeof WireErrorSchema, WireError>>();
