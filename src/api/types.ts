/**
 * The wire contract of the controller API (/v1, JSON) and of the agent API (same shape,
 * served on the agent's unix socket). Errors travel as {"error":{"code","message"}}
 * (model/errors.ts). Watch streams are NDJSON: one WatchMessage per line.
 */
import type { Policy } from '../model/policy.js';
import type { AnyObject, Attachment, EndpointStatus, Host, KindObjects, ObjectKind, PublishedPort } from '../model/types.js';

export interface CreateTenantRequest {
  name: string;
}

export interface CreateNetworkRequest {
  name: string;
  subnet: string;
  gateway?: string;
  mtu?: number;
  vni?: number;
}

/**
 * Controller: POST /v1/tenants/:tenant/networks/:network/endpoints. Without an attachment
 * the endpoint is created detached (status "detached"); with one, created and attached in
 * one txn (host is then required).
 */
export interface CreateEndpointRequest {
  host?: string;
  name?: string;
  labels?: Record<string, string>;
  ip?: string;
  mac?: string;
  /** Caller-chosen id (a CNI container id, a Docker endpoint id); makes retries idempotent. */
  id?: string;
  attachment?: Attachment;
}

/** Controller: PUT /v1/endpoints/:id/attachment. */
export interface AttachEndpointRequest {
  host: string;
  attachment: Attachment;
}

/** Controller: PATCH /v1/endpoints/:id/labels. */
export interface LabelPatchRequest {
  set?: Record<string, string>;
  remove?: string[];
}

/** Controller: PUT /v1/endpoints/:id/ports, the endpoint's whole list of published ports ([] clears it; ADR 016). */
export interface EndpointPortsRequest {
  ports: PublishedPort[];
}

/** Controller: PATCH /v1/tenants/:tenant/networks/:network (issue 7: attach policies). */
export interface UpdateNetworkRequest {
  /** Names of the tenant's policies, in order; [] detaches all. */
  policies?: string[];
  /** IPv4 address of a DNS forwarder for names outside the tenant's zone; '' removes it. */
  dnsUpstream?: string;
}

/** Controller: POST /v1/tenants/:tenant/policies. Rules in the rule language (model/policy.ts). */
export interface CreatePolicyRequest {
  name: string;
  rules: string[];
}

/** Controller: PATCH /v1/tenants/:tenant/policies/:name. Removals first (1-based), then additions at the end. */
export interface UpdatePolicyRequest {
  addRules?: string[];
  removeRules?: number[];
}

/** Controller: PUT /v1/tenants/:tenant/policies/:name/rates. Both rates absent: remove the target's limit. */
export interface PolicyRateRequest {
  /** net:NAME, group:KEY=VALUE or ep:ID. */
  target: string;
  /** tc units: "20mbit", "500kbit", "1gbit". */
  egress?: string;
  ingress?: string;
}

/** Controller: POST /v1/tenants/:tenant/policy-check. */
export interface PolicyCheckRequest {
  /** Endpoint id of the source. */
  from: string;
  /** Endpoint id or IPv4 address of the destination. */
  to: string;
  proto: 'tcp' | 'udp' | 'icmp';
  port?: number;
}

export interface PolicyCheckResult {
  verdict: 'allow' | 'deny' | 'reject';
  /** The deciding rule; null when no rule matched and the default decided. */
  rule: { policy: string; index: number; text: string } | null;
  /** "default: isolated networks", "default: same network", or why the rule decided. */
  reason: string;
}

/** Where a policy's current version is enforced (as EndpointRealization). */
export interface PolicyRealization {
  policy: string;
  /** Store revision of the policy's last change hosts enforce. */
  revision: number;
  realized: boolean;
  hosts: { host: string; state: HostState; realizedRevision: number; realized: boolean }[];
}

/**
 * GET /v1/tenants/:tenant/networks/:network/bridged-traffic: how a network's bridged traffic
 * is filtered (docs/adr/013, per bridge). `conntrack`: the agents turn br_netfilter on for its
 * bridges, so its bridged traffic meets the policies' rules statefully (and pays for it);
 * `policies`: whose rules make it so (empty when off).
 */
export interface BridgedTraffic {
  conntrack: boolean;
  policies: string[];
}

/** GET /v1/tenants/:tenant/policies/:name. */
export interface PolicyDetail {
  policy: Policy;
  /** The tenant's networks it is attached to. */
  networks: string[];
  realization: PolicyRealization;
}

/** Controller: POST /v1/tenants/:tenant/networks/:network/addresses. */
export interface ReserveAddressRequest {
  ip?: string;
  owner?: { kind: 'request' | 'floating-ip'; id?: string };
  /** A request reservation not claimed by an endpoint within this time is released. */
  ttlSeconds?: number;
}

/**
 * GET /v1/reclaimed: an endpoint its host's agent released on its own (src/agent/reclaim.ts,
 * ADR 017): what it held (address, MAC, name, labels), where it was attached, and why.
 */
export interface ReclaimedEndpoint {
  endpoint: string;
  name?: string;
  tenant: string;
  network: string;
  ip: string;
  mac: string;
  host?: string;
  attachment?: Attachment;
  labels: Record<string, string>;
  why: string;
  reclaimedAt: string;
}

/** An address reservation as the address routes list it. */
export interface Reservation {
  ip: string;
  owner: { kind: 'endpoint' | 'request' | 'gateway' | 'floating-ip'; id: string };
  createdAt: string;
  expiresAt?: string;
}

/**
 * Agent: POST /v1/endpoints. The agent fills in its own host and resolves --pid to a path.
 * With none of netns, pid and handoff, the endpoint is created detached on this host.
 */
export interface AttachRequest {
  tenant: string;
  network: string;
  netns?: string;
  pid?: number;
  /**
   * Instead of a namespace: the agent makes a host-side interface (answered as
   * attachment.hostIfname) for a runtime to move into its own namespace (ADR 005).
   */
  handoff?: boolean;
  ifname?: string;
  ip?: string;
  mac?: string;
  id?: string;
  name?: string;
  labels?: Record<string, string>;
  /** Names this attach: a retry with the same key returns the same endpoint (ADR 008). */
  idempotencyKey?: string;
}

/** Agent: POST /v1/endpoints/:id/attach (an existing, detached endpoint). */
export interface AttachExistingRequest {
  netns?: string;
  pid?: number;
  /** See AttachRequest.handoff. */
  handoff?: boolean;
  ifname?: string;
  /** Accepted for symmetry: attaching the same endpoint the same way again is a no-op anyway. */
  idempotencyKey?: string;
}

/** `tenet attach CONTAINER`: the agent asks its dockerd for the container's PID. */
export interface ContainerAttachRequest {
  container: string;
  tenant: string;
  network: string;
  ip?: string;
  ifname?: string;
  labels?: Record<string, string>;
}

export interface ContainerDetachRequest {
  container: string;
  network?: string;
}

export interface EndpointStatusRequest {
  status: EndpointStatus;
  detail?: string;
  mtu?: number;
}

export interface RegisterHostRequest {
  vtep: string;
  underlayMtu: number;
  /** Underlay network name (default "default"); see Host.underlay. */
  underlay?: string;
}

/** A store lease held by a host's agent: it keeps it alive every ttlMs/3 (POST .../heartbeat). */
export interface HostLease {
  id: number;
  ttlMs: number;
}

/** PUT /v1/hosts/:name answers the host record and the lease that says it is up. */
export interface HostRegistration {
  host: Host;
  lease: HostLease;
}

/** POST /v1/hosts/:name/heartbeat: keeps this lease (the host's, from its registration) alive. */
export interface HeartbeatRequest {
  lease: number;
}

/** PUT /v1/hosts/:name/realized: the store revision the host's agent has realized. */
export interface RealizedReport {
  revision: number;
}

/** Up while the host's agent keeps its lease alive; down once the lease has expired. */
export type HostState = 'up' | 'down';

/** GET /v1/hosts: the record, merged with what the controller knows of the host's life. */
export interface HostView extends Host {
  state: HostState;
  /** Up: when its lease was granted (up since). Down: when it first registered. */
  since: string;
  /** Up only: how long the lease runs without another keep-alive. */
  leaseExpiresInMs?: number;
  /** Last store revision the host reported realized (absent: none yet). */
  realizedRevision?: number;
}

/** GET /v1/endpoints/:id/realized: has every host of the endpoint's underlay applied it? */
export interface EndpointRealization {
  endpoint: string;
  /** Store revision of the endpoint's last write (what hosts must have realized). */
  revision: number;
  /** Every host of the underlay is up and has realized the revision (a down host never has). */
  realized: boolean;
  hosts: { host: string; state: HostState; realizedRevision: number; realized: boolean }[];
}

export interface Health {
  ok: boolean;
  role: 'controller' | 'agent';
  revision: number;
  version: string;
  host?: string;
}

/** GET /v1/status: one member of the store's cluster (the store contract's StoreMember). */
export interface StoreMemberView {
  name: string;
  endpoint: string;
  healthy: boolean;
  leader: boolean;
  error?: string;
}

/** GET /v1/status: the store's health (the store contract's StoreStatus). */
export interface StoreStatusView {
  backend: 'memory' | 'sqlite' | 'etcd';
  healthy: boolean;
  revision: number;
  members: StoreMemberView[];
  error?: string;
}

/** GET /v1/status: a controller replica, from its registration (ADR 022). */
export interface ControllerView {
  id: string;
  /** Where its API answers: https://host:port and/or unix:/path (on its own host). */
  urls: string[];
  version: string;
  startedAt: string;
  leader: boolean;
}

/** An endpoint or policy some host that must realize it has not (down, or behind). */
export interface UnrealizedObject {
  kind: 'endpoint' | 'policy';
  /** The endpoint's id, or tenant/name of a policy. */
  id: string;
  tenant: string;
  /** The store revision hosts must have realized. */
  revision: number;
  /** How many hosts have not, and the first of them. */
  behind: number;
  hosts: string[];
}

/** GET /v1/status: the cluster at a glance (`tenet status`). */
export interface ClusterStatus {
  store: StoreStatusView;
  controllers: ControllerView[];
  /** The leader's id; absent while none is elected (or the store cannot say). */
  leader?: string;
  hosts: { up: number; down: number; downNames: string[] };
  /** Counts of the endpoints and policies not realized everywhere, and the first of them. */
  unrealized: { endpoints: number; policies: number; first: UnrealizedObject[] };
  /** What could not be read (the store down): the other fields are then partial. */
  error?: string;
}

/**
 * GET /v1/snapshot: everything an agent needs, at one store revision: one array per kind of
 * the registry (model/kinds.ts), keyed by kind name: {revision, objects: {tenant: [...],
 * network: [...], endpoint: [...], host: [...]}}.
 */
export interface Snapshot {
  revision: number;
  objects: { [K in ObjectKind]: KindObjects[K][] };
}

export type WatchMessage =
  | { type: 'put'; kind: ObjectKind; revision: number; object: AnyObject }
  | { type: 'delete'; kind: ObjectKind; revision: number; object: AnyObject }
  /** Sent when idle so the client knows the stream is alive and how far the store is. */
  | { type: 'bookmark'; revision: number }
  /** The requested revision is gone: the client must re-list (GET /v1/snapshot). */
  | { type: 'compacted'; revision: number }
  /** A filtered watch (?host=H): every put before this line was the host's view at `revision` (ADR 011). */
  | { type: 'synced'; revision: number }
  /** The watcher fell behind (or the controller re-listed): the stream ends, the client must re-list. */
  | { type: 'resync'; revision: number; reason: string };

export const API_VERSION = 'v1';
