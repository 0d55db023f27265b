/**
 * The wire contract of types.ts and credentials.ts as JSON Schema (TypeBox), for fastify to
 * check requests and serialize responses with, and for the OpenAPI document (ADR 009).
 *
 * Request schemas check shape only (types, required fields); what a value means (a CIDR, a
 * label key, an MTU range) stays with the validators of src/model, which give the specific
 * error codes. So a request schema may accept more than its interface (a field the server
 * defaults), never less: `Accepts` checks that. Response schemas must match their interface
 * exactly (`Matches`), since fastify's serializer drops whatever its schema does not name.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { assertType, AttachmentSchema, EndpointSchema, EndpointStatusSchema, HostSchema, LabelsSchema, NetnsIdSchema, NetworkSchema, TenantSchema, type Matches } from '../model/schemas.js';
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
  HeartbeatRequest,
  Health,
  HostRegistration,
  HostView,
  LabelPatchRequest,
  RealizedReport,
  RegisterHostRequest,
  Reservation,
  ReserveAddressRequest,
  Snapshot,
} from './types.js';

/** Every value of the interface passes the schema. */
type Accepts<S extends TSchema, T> = [T] extends [Static<S>] ? true : false;

const Str = Type.String;
const Int = Type.Integer;
const Opt = Type.Optional;

// ---- requests ----

export const CreateTenantBody = Type.Object({ name: Str() });
export const CreateNetworkBody = Type.Object({ name: Str(), subnet: Str(), gateway: Opt(Str()), mtu: Opt(Int()), vni: Opt(Int()) });

/** Either form of Attachment, checked field by field; validateAttachment checks the combination. */
export const AttachmentBody = Type.Object({
  kind: Type.Union([Type.Literal('netns'), Type.Literal('handoff')]),
  netns: Opt(Str()),
  netnsId: Opt(NetnsIdSchema),
  hostIfname: Opt(Str()),
  ifname: Opt(Str()),
});

export const CreateEndpointBody = Type.Object({
  host: Opt(Str()),
  name: Opt(Str()),
  labels: Opt(LabelsSchema),
  ip: Opt(Str()),
  mac: Opt(Str()),
  id: Opt(Str()),
  attachment: Opt(AttachmentBody),
});
export const AttachEndpointBody = Type.Object({ host: Str(), attachment: AttachmentBody });
export const LabelPatchBody = Type.Object({ set: Opt(LabelsSchema), remove: Opt(Type.Array(Str())) });
export const ReserveAddressBody = Type.Object({
  ip: Opt(Str()),
  owner: Opt(Type.Object({ kind: Type.Union([Type.Literal('request'), Type.Literal('floating-ip')]), id: Opt(Str()) })),
  ttlSeconds: Opt(Int()),
});
export const EndpointStatusBody = Type.Object({ status: EndpointStatusSchema, detail: Opt(Str()), mtu: Opt(Int()) });
export const RegisterHostBody = Type.Object({ vtep: Str(), underlayMtu: Opt(Int()), underlay: Opt(Str()) });
export const HeartbeatBody = Type.Object({ lease: Int({ minimum: 1 }) });
export const RealizedBody = Type.Object({ revision: Int({ minimum: 0 }) });
export const CreateTokenBody = Type.Object({ kind: Type.Literal('agent'), ttlSeconds: Opt(Int()) });
export const JoinBody = Type.Object({ token: Str(), host: Str() });

export const AgentAttachBody = Type.Object({
  tenant: Str(),
  network: Str(),
  netns: Opt(Str()),
  pid: Opt(Int()),
  handoff: Opt(Type.Boolean()),
  ifname: Opt(Str()),
  ip: Opt(Str()),
  mac: Opt(Str()),
  id: Opt(Str()),
  name: Opt(Str()),
  labels: Opt(LabelsSchema),
});
export const AgentAttachExistingBody = Type.Object({ netns: Opt(Str()), pid: Opt(Int()), handoff: Opt(Type.Boolean()), ifname: Opt(Str()) });

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
const HostStateSchema = Type.Union([Type.Literal('up'), Type.Literal('down')]);
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
    objects: Type.Object({ tenant: Type.Array(TenantSchema), network: Type.Array(NetworkSchema), endpoint: Type.Array(EndpointSchema), host: Type.Array(HostSchema) }),
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
assertType<Matches<typeof EndpointRealizationSchema, EndpointRealization>>();
assertType<Matches<typeof HealthSchema, Health>>();
assertType<Matches<typeof SnapshotSchema, Snapshot>>();
assertType<Matches<typeof CreatedTokenSchema, CreatedToken>>();
assertType<Matches<typeof TokenInfoSchema, TokenInfo>>();
assertType<Matches<typeof JoinResponseSchema, JoinResponse>>();
assertType<Matches<typeof WireErrorSchema, WireError>>();
