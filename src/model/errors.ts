/**
 * The one error catalog (STYLE.md, after fastify and kine). Every failure a user can cause or
 * meet has a code here with its HTTP status, its CNI error code (spec codes where they fit,
 * ours from 100 up) and a one-line summary; docs/errors.md documents each (a test checks).
 * A TenetError is safe to show a user: its message says what is wrong and how to fix it.
 * Anything else that escapes is a bug and is reported as INTERNAL.
 */

export interface CatalogEntry {
  status: number;
  cni: number;
  summary: string;
}

export const CATALOG = {
  BAD_REQUEST: { status: 400, cni: 7, summary: 'The request is malformed or a field has the wrong type.' },
  INVALID_NAME: { status: 400, cni: 7, summary: 'A name does not follow the naming rule.' },
  INVALID_CIDR: { status: 400, cni: 7, summary: 'A subnet is not an IPv4 CIDR with host bits clear.' },
  GATEWAY_OUTSIDE_SUBNET: { status: 400, cni: 7, summary: 'The gateway is not a usable address of the subnet.' },
  INVALID_IP: { status: 400, cni: 7, summary: 'An address is not a dotted IPv4 address.' },
  INVALID_MAC: { status: 400, cni: 7, summary: 'A MAC address is malformed, multicast or all zeros.' },
  INVALID_MTU: { status: 400, cni: 7, summary: 'An MTU is outside 576..9000.' },
  INVALID_VNI: { status: 400, cni: 7, summary: 'A VNI is outside 1..16777215.' },
  INVALID_IFNAME: { status: 400, cni: 7, summary: 'An interface name is empty, too long or has bad characters.' },
  SUBNET_OVERLAP: { status: 409, cni: 100, summary: "A subnet overlaps another network's subnet in the same tenant." },
  TENANT_NOT_FOUND: { status: 404, cni: 101, summary: 'No tenant has that name.' },
  NETWORK_NOT_FOUND: { status: 404, cni: 102, summary: 'The tenant has no network of that name.' },
  ENDPOINT_NOT_FOUND: { status: 404, cni: 103, summary: 'No endpoint has that id.' },
  HOST_NOT_FOUND: { status: 404, cni: 104, summary: 'No host of that name has registered.' },
  TENANT_EXISTS: { status: 409, cni: 105, summary: 'A tenant of that name exists already.' },
  NETWORK_EXISTS: { status: 409, cni: 106, summary: 'The tenant has a network of that name already.' },
  TENANT_IN_USE: { status: 409, cni: 107, summary: 'The tenant still has networks or policies.' },
  NETWORK_IN_USE: { status: 409, cni: 108, summary: 'The network still has endpoints.' },
  IP_IN_USE: { status: 409, cni: 109, summary: 'The requested address is held by another endpoint.' },
  IP_OUTSIDE_SUBNET: { status: 400, cni: 110, summary: "The requested address is not a usable address of the network's subnet." },
  SUBNET_EXHAUSTED: { status: 409, cni: 111, summary: 'Every address of the subnet is in use.' },
  VNI_IN_USE: { status: 409, cni: 112, summary: 'The requested VNI belongs to another network.' },
  ENDPOINT_EXISTS: { status: 409, cni: 113, summary: 'An endpoint with that id exists with different settings.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, cni: 113, summary: 'The idempotency key was used for an attach with other parameters.' },
  NETNS_NOT_FOUND: { status: 400, cni: 3, summary: 'The network namespace to attach does not exist on this host.' },
  NETNS_FORBIDDEN: { status: 403, cni: 120, summary: "The namespace is the host's, the agent's or one Tenet made: nothing may be attached there." },
  IFNAME_IN_USE: { status: 409, cni: 114, summary: 'The namespace already has an interface of that name.' },
  NOT_LOCAL_HOST: { status: 400, cni: 115, summary: 'An endpoint was sent to an agent that does not run its host.' },
  CONTROLLER_UNREACHABLE: { status: 503, cni: 11, summary: 'The controller did not answer.' },
  AGENT_UNREACHABLE: { status: 503, cni: 11, summary: 'The agent on this host did not answer.' },
  DATAPATH_FAILED: { status: 500, cni: 116, summary: 'The kernel refused a change; the change was rolled back.' },
  STORE_CONFLICT: { status: 409, cni: 11, summary: 'Concurrent writers kept changing the same object; try again.' },
  COMPACTED: { status: 410, cni: 117, summary: 'A watch asked for a revision the store has compacted away; re-list.' },
  LAB_ERROR: { status: 400, cni: 118, summary: 'A lab command cannot be carried out as asked.' },
  UNAUTHENTICATED: { status: 401, cni: 120, summary: 'The API over TCP needs a valid bearer token, and none (or a wrong or expired one) was sent.' },
  FORBIDDEN: { status: 403, cni: 121, summary: "The caller's token does not allow this request." },
  TOKEN_NOT_FOUND: { status: 404, cni: 122, summary: 'No join token has that id, or the host has no credential.' },
  TLS_SETUP_FAILED: { status: 500, cni: 123, summary: "The controller could not create or read its TLS certificates." },
  SOCKET_IN_USE: { status: 409, cni: 124, summary: 'A socket path is served by a live process, or is a file that is not a socket.' },
  NOT_ROOT: { status: 403, cni: 119, summary: 'The command changes kernel networking and must run as root.' },
  INVALID_LABEL: { status: 400, cni: 7, summary: 'A label key or value does not follow the label rule, or there are too many labels.' },
  MAC_IN_USE: { status: 409, cni: 130, summary: "The requested MAC is the network's gateway MAC or another endpoint's." },
  ENDPOINT_NAME_IN_USE: { status: 409, cni: 131, summary: 'Another endpoint of the network has that name.' },
  ENDPOINT_ATTACHED: { status: 409, cni: 132, summary: 'The endpoint is attached elsewhere already; detach it first.' },
  ADDRESS_NOT_RESERVED: { status: 404, cni: 133, summary: 'The address is not reserved in that network.' },
  LEASE_EXPIRED: { status: 404, cni: 134, summary: "The host holds no live lease of that id: it expired, was revoked, or is another host's." },
  HOST_UP: { status: 409, cni: 135, summary: "The host's lease is alive: it cannot be evicted while its agent keeps it up." },
  INVALID_RULE: { status: 400, cni: 7, summary: 'A policy rule does not follow the rule language; the message names the rule, the position and the word.' },
  INVALID_RATE: { status: 400, cni: 7, summary: 'A rate limit is not a rate such as 20mbit, or its target is not net:, group: or ep:.' },
  POLICY_NOT_FOUND: { status: 404, cni: 136, summary: 'The tenant has no policy of that name.' },
  POLICY_EXISTS: { status: 409, cni: 137, summary: 'The tenant has a policy of that name already.' },
  POLICY_IN_USE: { status: 409, cni: 138, summary: 'The policy is attached to networks; detach it first.' },
  TOO_MANY_RULES: { status: 400, cni: 139, summary: 'A policy would hold more rules than allowed (10,000).' },
  DOCKER_UNSUPPORTED: { status: 400, cni: 140, summary: 'A docker network option or request that Tenet does not honour.' },
  DOCKER_UNREACHABLE: { status: 503, cni: 141, summary: "The agent cannot reach this host's dockerd, or was started without --docker." },
  CONTAINER_NOT_FOUND: { status: 404, cni: 142, summary: "This host's dockerd knows no container of that id or name." },
  CONTAINER_NOT_RUNNING: { status: 409, cni: 143, summary: 'The container is not running, so it has no network namespace to attach.' },
  INVALID_PORT: { status: 400, cni: 7, summary: 'A published port mapping is malformed: a port outside 1-65535, a protocol other than tcp or udp, a host port twice, or too many.' },
  HOST_PORT_IN_USE: { status: 409, cni: 144, summary: 'Another endpoint of this host already publishes that host port.' },
  CNI_VERSION_UNSUPPORTED: { status: 400, cni: 1, summary: 'A CNI config asks for a cniVersion the tenet plugin does not speak (it speaks 0.4.0, 1.0.0, 1.1.0).' },
  CNI_INVALID_ENV: { status: 400, cni: 4, summary: 'A CNI_* environment variable is missing or malformed.' },
  CNI_INVALID_CONFIG: { status: 400, cni: 7, summary: 'The CNI network config (stdin) is not valid JSON or a field is missing or wrong.' },
  CNI_CHECK_FAILED: { status: 409, cni: 150, summary: 'CNI CHECK found the container interface other than Tenet made it.' },
  CNI_UNAVAILABLE: { status: 503, cni: 50, summary: 'CNI STATUS: an ADD to the network could not succeed now (controller unreachable, network gone).' },
  REPLICA_BEHIND: { status: 503, cni: 11, summary: 'This controller replica has not yet followed the store as far as the caller has already seen.' },
  STORE_CONFIG_INVALID: { status: 400, cni: 7, summary: 'The --store address or an --etcd-* flag is malformed, or a file it names cannot be read.' },
  STORE_UNAVAILABLE: { status: 503, cni: 11, summary: 'The store (etcd) did not answer in time or refused the connection: members down, quorum lost, a wrong address or certificate.' },
  STORE_INCOMPATIBLE: { status: 409, cni: 152, summary: 'The store was written by another Tenet version, in a format this one does not read.' },
  INTERNAL: { status: 500, cni: 999, summary: 'A bug: the logs have the details.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof CATALOG;

export class TenetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly userSafe = true;

  /** `message` says what is wrong; `fix` (optional) says what to do about it. */
  constructor(code: ErrorCode, message: string, fix?: string) {
    super(fix ? `${message}: ${fix}` : message);
    this.name = 'TenetError';
    this.code = code;
    this.status = CATALOG[code].status;
  }

  toJSON(): WireError {
    return { error: { code: this.code, message: this.message } };
  }
}

export interface WireError {
  error: { code: string; message: string };
}

export function isTenetError(err: unknown): err is TenetError {
  return err instanceof TenetError;
}

/** Converts anything thrown into a TenetError; unknown errors become INTERNAL (a bug). */
export function asTenetError(err: unknown): TenetError {
  if (isTenetError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new TenetError('INTERNAL', `internal error: ${detail}`);
}

/** Rebuilds a TenetError from its wire form (the client side of the API). */
export function fromWire(body: unknown, status: number): TenetError {
  const e = (body as Partial<WireError> | undefined)?.error;
  const code = e && e.code in CATALOG ? (e.code as ErrorCode) : 'INTERNAL';
  return new TenetError(code, e?.message ?? `unexpected HTTP ${status} from the API`);
}
