/**
 * The object model as JSON Schema (TypeBox), so fastify can check what leaves the API and
 * publish it in the OpenAPI document (ADR 009). types.ts keeps the readable interfaces with
 * their comments; the checks at the end make tsc fail if a schema and its interface drift
 * apart (a field added to one only), so the serializer never drops a field a client needs.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAX_LABEL_KEY, MAX_LABELS_IN_REQUEST, MAX_TEXT } from './limits.js';
import type { Policy, PolicyRule, RateLimit, Selector } from './policy.js';
import type { Attachment, Endpoint, EndpointStatus, Host, Network, NetnsId, PublishedPort, Tenant } from './types.js';

export const TenantSchema = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() }, { title: 'Tenant' });

export const NetworkSchema = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    name: Type.String(),
    subnet: Type.String({ description: 'IPv4 CIDR, host bits clear' }),
    gateway: Type.String(),
    mtu: Type.Integer({ description: '0: automatic (underlay MTU - 50)' }),
    vni: Type.Integer(),
    policies: Type.Optional(Type.Array(Type.String(), { description: 'names of the attached policies, in order' })),
    dnsUpstream: Type.Optional(Type.String({ description: 'IPv4 address the DNS server forwards names outside the tenant zone to; absent: REFUSED' })),
    createdAt: Type.String(),
  },
  { title: 'Network' },
);

export const EndpointStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('up'), Type.Literal('error'), Type.Literal('detached')]);

export const NetnsIdSchema = Type.Object({ dev: Type.Integer({ minimum: 0 }), ino: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

export const NetnsAttachmentSchema = Type.Object({ kind: Type.Literal('netns'), netns: Type.String(), netnsId: NetnsIdSchema, ifname: Type.String() });
export const HandoffAttachmentSchema = Type.Object({ kind: Type.Literal('handoff'), hostIfname: Type.String(), ifname: Type.String() });
export const AttachmentSchema = Type.Union([NetnsAttachmentSchema, HandoffAttachmentSchema]);

/** Bounded as a request brings it (model/limits.ts); validateLabels then applies the label rule. */
export const LabelsSchema = Type.Record(Type.String(), Type.String({ maxLength: MAX_TEXT }), {
  maxProperties: MAX_LABELS_IN_REQUEST,
  propertyNames: { maxLength: MAX_LABEL_KEY },
});

export const PublishedPortSchema = Type.Object(
  {
    hostPort: Type.Integer({ description: 'port of the host, 1-65535' }),
    port: Type.Integer({ description: "the endpoint's port, 1-65535" }),
    proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
    hostIp: Type.Optional(Type.String({ description: 'only this address of the host (default: all but loopback)' })),
  },
  { title: 'PublishedPort' },
);

export const EndpointSchema = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    network: Type.String(),
    networkId: Type.String(),
    name: Type.Optional(Type.String()),
    labels: LabelsSchema,
    host: Type.Optional(Type.String()),
    mac: Type.String(),
    ip: Type.String(),
    prefixLen: Type.Integer(),
    gateway: Type.String(),
    status: EndpointStatusSchema,
    statusDetail: Type.Optional(Type.String()),
    mtu: Type.Optional(Type.Integer()),
    attachment: Type.Optional(AttachmentSchema),
    ports: Type.Optional(Type.Array(PublishedPortSchema, { description: 'published ports (ADR 016)' })),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { title: 'Endpoint' },
);

export const HostSchema = Type.Object(
  {
    name: Type.String(),
    vtep: Type.String(),
    underlayMtu: Type.Integer(),
    underlay: Type.String(),
    registeredAt: Type.String(),
  },
  { title: 'Host' },
);

export const SelectorSchema = Type.Union([
  Type.Object({ kind: Type.Literal('any') }),
  Type.Object({ kind: Type.Literal('net'), name: Type.String() }),
  Type.Object({ kind: Type.Literal('group'), key: Type.String(), value: Type.String() }),
  Type.Object({ kind: Type.Literal('cidr'), cidr: Type.String() }),
  Type.Object({ kind: Type.Literal('ep'), id: Type.String() }),
]);

const Lit = <T extends string>(...names: T[]) => Type.Union(names.map((n) => Type.Literal(n)));

export const PolicyRuleSchema = Type.Object({
  text: Type.String({ description: 'the rule as typed (single spaces, lowercase keywords)' }),
  action: Lit('allow', 'deny', 'reject'),
  proto: Lit('any', 'tcp', 'udp', 'icmp'),
  from: SelectorSchema,
  to: SelectorSchema,
  ports: Type.Array(Type.Object({ from: Type.Integer(), to: Type.Integer() })),
  priority: Type.Integer(),
  log: Type.Boolean(),
});

export const RateLimitSchema = Type.Object({
  target: SelectorSchema,
  egressBps: Type.Optional(Type.Integer({ description: 'bits per second the endpoint may send' })),
  ingressBps: Type.Optional(Type.Integer({ description: 'bits per second the endpoint may receive' })),
});

export const PolicySchema = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    name: Type.String(),
    rules: Type.Array(PolicyRuleSchema),
    rates: Type.Array(RateLimitSchema),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { title: 'Policy' },
);

/**
 * A and B are the same type, optional fields included (mutual assignability alone would let
 * an optional field be added to one side only: the serializer would then drop it).
 */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
export function assertType<T extends true>(): T | undefined {
  return undefined;
}
/** `T` is the static type of schema `S`. */
export type Matches<S extends TSchema, T> = Same<Static<S>, T>;

assertType<Matches<typeof TenantSchema, Tenant>>();
assertType<Matches<typeof NetworkSchema, Network>>();
assertType<Matches<typeof EndpointStatusSchema, EndpointStatus>>();
assertType<Matches<typeof NetnsIdSchema, NetnsId>>();
assertType<Matches<typeof AttachmentSchema, Attachment>>();
assertType<Matches<typeof PublishedPortSchema, PublishedPort>>();
assertType<Matches<typeof EndpointSchema, Endpoint>>();
assertType<Matches<typeof HostSchema, Host>>();
assertType<Matches<typeof SelectorSchema, Selector>>();
assertType<Matches<typeof PolicyRuleSchema, PolicyRule>>();
assertType<Matches<typeof RateLimitSchema, RateLimit>>();
assertType<Matches<typeof PolicySchema, Policy>>();
