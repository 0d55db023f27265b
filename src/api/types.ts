/**
 * The wire contract of the controller API (/v1, JSON) and of the agent API (same shape,
 * served on the agent's unix socket). Errors travel as {"error":{"code","message"}}
 * (model/errors.ts). Watch streams are NDJSON: one WatchMessage per line.
 */
import type { Endpoint, EndpointStatus, Host, Network, ObjectKind, Tenant } from '../model/types.js';

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

/** Controller: POST /v1/tenants/:tenant/networks/:network/endpoints. */
export interface CreateEndpointRequest {
  host: string;
  netns: string;
  ifname?: string;
  ip?: string;
  mac?: string;
  /** Caller-chosen id (a CNI container id, a Docker endpoint id); makes retries idempotent. */
  id?: string;
}

/** Agent: POST /v1/endpoints. The agent fills in its own host and resolves --pid to a path. */
export interface AttachRequest {
  tenant: string;
  network: string;
  netns?: string;
  pid?: number;
  ifname?: string;
  ip?: string;
  mac?: string;
  id?: string;
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
  realizedRevision?: number;
}

/** GET /v1/endpoints/:id/realized: has every host of the endpoint's underlay applied it? */
export interface EndpointRealization {
  endpoint: string;
  /** Store revision that created the endpoint (what hosts program never changes after). */
  revision: number;
  realized: boolean;
  hosts: { host: string; realizedRevision: number; realized: boolean }[];
}

export interface Health {
  ok: boolean;
  role: 'controller' | 'agent';
  revision: number;
  version: string;
  host?: string;
}

/** GET /v1/snapshot: everything an agent needs, at one store revision. */
export interface Snapshot {
  revision: number;
  tenants: Tenant[];
  networks: Network[];
  endpoints: Endpoint[];
  hosts: Host[];
}

export type WatchMessage =
  | { type: 'put'; kind: ObjectKind; revision: number; object: Tenant | Network | Endpoint | Host }
  | { type: 'delete'; kind: ObjectKind; revision: number; object: Tenant | Network | Endpoint | Host }
  /** Sent when idle so the client knows the stream is alive and how far the store is. */
  | { type: 'bookmark'; revision: number }
  /** The requested revision is gone: the client must re-list (GET /v1/snapshot). */
  | { type: 'compacted'; revision: number };

export const API_VERSION = 'v1';
