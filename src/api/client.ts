/**
 * Typed clients for the controller API and the agent API. The CLI, the agent, the lab and
 * (later) the Docker and CNI plugins all go through these; none builds URLs by hand.
 */
import type { IncomingMessage } from 'node:http';
import { fromWire, TenetError } from '../model/errors.js';
import { Transport, type TransportOptions } from './transport.js';
import type {
  EndpointPortsRequest,
  ContainerAttachRequest,
  ContainerDetachRequest,
  AttachEndpointRequest,
  ClusterStatus,
  AttachExistingRequest,
  AttachRequest,
  LabelPatchRequest,
  ReserveAddressRequest,
  ReclaimedEndpoint,
  Reservation,
  CreateEndpointRequest,
  CreateNetworkRequest,
  EndpointRealization,
  EndpointStatusRequest,
  HeartbeatRequest,
  Health,
  HostRegistration,
  HostView,
  RealizedReport,
  RegisterHostRequest,
  Snapshot,
  WatchMessage,
  UpdateNetworkRequest,
  CreatePolicyRequest,
  UpdatePolicyRequest,
  PolicyRateRequest,
  PolicyCheckRequest,
  PolicyCheckResult,
  BridgedTraffic,
  PolicyDetail,
} from './types.js';
import type { Policy } from '../model/policy.js';
import type { Endpoint, Network, PublishedPort, Tenant } from '../model/types.js';

const enc = encodeURIComponent;
/**
 * POSTs and PATCHes that set state rather than add to it (labels, status, a heartbeat, a
 * check that changes nothing): sent again to another replica after an ambiguous failure.
 */
const SETS_FIELDS = { idempotent: true } as const;
const WATCH_TYPES = new Set(['put', 'delete', 'bookmark', 'compacted', 'synced', 'resync']);

/** One NDJSON line of a watch stream; anything else is a broken stream, never an event. */
export function parseWatchLine(line: string): WatchMessage {
  let m: Partial<WatchMessage> | undefined;
  try {
    m = JSON.parse(line) as Partial<WatchMessage>;
  } catch {
    m = undefined;
  }
  const event = m?.type === 'put' || m?.type === 'delete';
  const ok =
    !!m && typeof m === 'object' && WATCH_TYPES.has(m.type as string) && Number.isSafeInteger(m.revision) && m.revision! >= 0 &&
    (!event || (typeof (m as { kind?: unknown }).kind === 'string' && typeof (m as { object?: unknown }).object === 'object'));
  if (!ok) throw new TenetError('CONTROLLER_UNREACHABLE', `the controller's watch stream sent a line that is not a watch message: ${line.slice(0, 80)}`, 'is TENET_API a Tenet controller of the same version?');
  return m as WatchMessage;
}

/** The TenetError an HTTP error answer carries ({"error":{code,message}}), whatever its body. */
/** Six bookmark intervals of the controller (DEFAULT_BOOKMARK_MS, 5 s) without a line. */
export const WATCH_IDLE_MS = 30_000;

/**
 * Where a resumed watch starts, and which of its first events were passed on already. One
 * store revision may hold several events (a transaction), and a stream may break between
 * them: it then resumes from the revision before (`after`), and the events of that revision
 * already passed on are recognised and dropped. A revision is known complete once a later
 * one or a bookmark at it has arrived (the stream is in order).
 */
class ResumePoint {
  private open = 0;
  private readonly seen = new Set<string>();

  constructor(public after: number) {}

  /** True when `m` is to be passed on: not an event already passed on. */
  fresh(m: WatchMessage): boolean {
    if (m.type !== 'put' && m.type !== 'delete') {
      if (m.type === 'bookmark' && m.revision > this.after) this.complete(m.revision);
      return true;
    }
    if (m.revision <= this.after) return false;
    if (m.revision > this.open) {
      this.complete(m.revision - 1);
      this.open = m.revision;
    }
    const id = JSON.stringify(m);
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }

  private complete(revision: number): void {
    this.after = Math.max(this.after, revision);
    if (this.open <= this.after) this.seen.clear();
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => (clearTimeout(timer), signal.removeEventListener('abort', done), resolve());
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function errorAnswer(res: IncomingMessage): Promise<TenetError> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return fromWire(body, res.statusCode ?? 500);
}

export class ControllerClient {
  readonly transport: Transport;

  /** `opts`: a timeout in ms, or the full transport options (token, CA) for a remote controller. */
  constructor(address: string, opts?: number | TransportOptions) {
    this.transport = new Transport(address, 'CONTROLLER_UNREACHABLE', typeof opts === 'number' ? { timeoutMs: opts } : opts);
  }

  health = () => this.transport.request<Health>('GET', '/v1/health');
  /** Store, controllers and leader, hosts up/down, objects not realized everywhere (admin). */
  status = () => this.transport.request<ClusterStatus>('GET', '/v1/status');
  listTenants = () => this.transport.request<Tenant[]>('GET', '/v1/tenants');
  getTenant = (name: string) => this.transport.request<Tenant>('GET', `/v1/tenants/${enc(name)}`);
  createTenant = (name: string) => this.transport.request<Tenant>('POST', '/v1/tenants', { name });
  deleteTenant = (name: string) => this.transport.request<void>('DELETE', `/v1/tenants/${enc(name)}`);

  listNetworks = (tenant?: string) =>
    this.transport.request<Network[]>('GET', tenant ? `/v1/tenants/${enc(tenant)}/networks` : '/v1/networks');
  getNetwork = (tenant: string, name: string) =>
    this.transport.request<Network>('GET', `/v1/tenants/${enc(tenant)}/networks/${enc(name)}`);
  getBridgedTraffic = (tenant: string, name: string) =>
    this.transport.request<BridgedTraffic>('GET', `/v1/tenants/${enc(tenant)}/networks/${enc(name)}/bridged-traffic`);
  createNetwork = (tenant: string, req: CreateNetworkRequest) =>
    this.transport.request<Network>('POST', `/v1/tenants/${enc(tenant)}/networks`, req);
  deleteNetwork = (tenant: string, name: string) =>
    this.transport.request<void>('DELETE', `/v1/tenants/${enc(tenant)}/networks/${enc(name)}`);
  updateNetwork = (tenant: string, name: string, req: UpdateNetworkRequest) =>
    this.transport.request<Network>('PATCH', `/v1/tenants/${enc(tenant)}/networks/${enc(name)}`, req, SETS_FIELDS);

  listPolicies = (tenant?: string) => this.transport.request<Policy[]>('GET', tenant ? `/v1/tenants/${enc(tenant)}/policies` : '/v1/policies');
  getPolicy = (tenant: string, name: string) => this.transport.request<PolicyDetail>('GET', `/v1/tenants/${enc(tenant)}/policies/${enc(name)}`);
  createPolicy = (tenant: string, req: CreatePolicyRequest) => this.transport.request<Policy>('POST', `/v1/tenants/${enc(tenant)}/policies`, req);
  updatePolicy = (tenant: string, name: string, req: UpdatePolicyRequest) =>
    this.transport.request<Policy>('PATCH', `/v1/tenants/${enc(tenant)}/policies/${enc(name)}`, req);
  setPolicyRate = (tenant: string, name: string, req: PolicyRateRequest) =>
    this.transport.request<Policy>('PUT', `/v1/tenants/${enc(tenant)}/policies/${enc(name)}/rates`, req);
  deletePolicy = (tenant: string, name: string) => this.transport.request<void>('DELETE', `/v1/tenants/${enc(tenant)}/policies/${enc(name)}`);
  checkPolicy = (tenant: string, req: PolicyCheckRequest) => this.transport.request<PolicyCheckResult>('POST', `/v1/tenants/${enc(tenant)}/policy-check`, req, SETS_FIELDS);

  listEndpoints = (filter: { tenant?: string; network?: string; host?: string; labels?: string[] } = {}) => {
    const { labels = [], ...plain } = filter;
    const pairs = [...(Object.entries(plain).filter(([, v]) => v) as [string, string][]), ...labels.map((l) => ['label', l] as [string, string])];
    const q = new URLSearchParams(pairs).toString();
    return this.transport.request<Endpoint[]>('GET', `/v1/endpoints${q ? `?${q}` : ''}`);
  };
  getEndpoint = (id: string) => this.transport.request<Endpoint>('GET', `/v1/endpoints/${enc(id)}`);
  endpointRealization = (id: string) => this.transport.request<EndpointRealization>('GET', `/v1/endpoints/${enc(id)}/realized`);
  /** With a caller-chosen id the create is idempotent (the same id and placement answers the same endpoint), so it may go to another replica after a failure. */
  createEndpoint = (tenant: string, network: string, req: CreateEndpointRequest) =>
    this.transport.request<Endpoint>('POST', `/v1/tenants/${enc(tenant)}/networks/${enc(network)}/endpoints`, req, { idempotent: req.id !== undefined });
  setEndpointStatus = (id: string, req: EndpointStatusRequest) =>
    this.transport.request<Endpoint>('PATCH', `/v1/endpoints/${enc(id)}/status`, req, SETS_FIELDS);
  /** `reclaimed`: why an agent releases it on its own; the controller records it (GET /v1/reclaimed). */
  deleteEndpoint = (id: string, reclaimed?: string) =>
    this.transport.request<void>('DELETE', `/v1/endpoints/${enc(id)}${reclaimed ? `?${new URLSearchParams({ reclaimed })}` : ''}`);
  /** What agents reclaimed, newest first (bounded: the last 1000, 24 h). */
  listReclaimed = (filter: { tenant?: string; network?: string; host?: string } = {}) => {
    const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v) as [string, string][]).toString();
    return this.transport.request<ReclaimedEndpoint[]>('GET', `/v1/reclaimed${q ? `?${q}` : ''}`);
  };
  attachEndpoint = (id: string, req: AttachEndpointRequest) =>
    this.transport.request<Endpoint>('PUT', `/v1/endpoints/${enc(id)}/attachment`, req);
  detachEndpoint = (id: string) => this.transport.request<Endpoint>('DELETE', `/v1/endpoints/${enc(id)}/attachment`);
  labelEndpoint = (id: string, req: LabelPatchRequest) =>
    this.transport.request<Endpoint>('PATCH', `/v1/endpoints/${enc(id)}/labels`, req, SETS_FIELDS);
  /** Admin: the tenants whose networks this host's agent may create and delete for Docker ([] takes the grant back). */
  setDockerTenants = (host: string, tenants: string[]) =>
    this.transport.request<{ host: string; tenants: string[] }>('PUT', `/v1/hosts/${enc(host)}/docker-tenants`, { tenants });
  /** The tenants the admin granted to this host for Docker (admin, or the host itself). */
  getDockerTenants = (host: string) => this.transport.request<{ host: string; tenants: string[] }>('GET', `/v1/hosts/${enc(host)}/docker-tenants`);
  /** Names or renames an endpoint; ENDPOINT_NAME_IN_USE when another of its network has the name. */
  nameEndpoint = (id: string, name: string) => this.transport.request<Endpoint>('PUT', `/v1/endpoints/${enc(id)}/name`, { name });
  /** Replaces the endpoint's published ports ([] clears them); HOST_PORT_IN_USE names the holder. */
  setEndpointPorts = (id: string, ports: PublishedPort[]) =>
    this.transport.request<Endpoint>('PUT', `/v1/endpoints/${enc(id)}/ports`, { ports } satisfies EndpointPortsRequest);

  listAddresses = (tenant: string, network: string) =>
    this.transport.request<Reservation[]>('GET', `/v1/tenants/${enc(tenant)}/networks/${enc(network)}/addresses`);
  reserveAddress = (tenant: string, network: string, req: ReserveAddressRequest) =>
    this.transport.request<Reservation>('POST', `/v1/tenants/${enc(tenant)}/networks/${enc(network)}/addresses`, req);
  releaseAddress = (tenant: string, network: string, ip: string) =>
    this.transport.request<void>('DELETE', `/v1/tenants/${enc(tenant)}/networks/${enc(network)}/addresses/${enc(ip)}`);

  listHosts = () => this.transport.request<HostView[]>('GET', '/v1/hosts');
  /** Writes the record only when new or changed; answers the lease to keep alive (heartbeat). */
  registerHost = (name: string, req: RegisterHostRequest) =>
    this.transport.request<HostRegistration>('PUT', `/v1/hosts/${enc(name)}`, req);
  /** A keep-alive of the host's lease; LEASE_EXPIRED means: register again. */
  heartbeat = (name: string, lease: number) =>
    this.transport.request<void>('POST', `/v1/hosts/${enc(name)}/heartbeat`, { lease } satisfies HeartbeatRequest, SETS_FIELDS);
  reportRealized = (name: string, revision: number) =>
    this.transport.request<void>('PUT', `/v1/hosts/${enc(name)}/realized`, { revision } satisfies RealizedReport);
  /** Removes a down host with its endpoints; HOST_UP while its lease is alive. */
  evictHost = (name: string) => this.transport.request<void>('POST', `/v1/hosts/${enc(name)}/evict`, undefined, SETS_FIELDS);
  /** Decommissions a host, up or down (its lease is revoked). */
  deleteHost = (name: string) => this.transport.request<void>('DELETE', `/v1/hosts/${enc(name)}`);

  snapshot = () => this.transport.request<Snapshot>('GET', '/v1/snapshot');

  /**
   * Streams watch messages after `revision` until the stream ends or `signal` aborts.
   * Resolves when the stream closes (the caller resumes from its last revision). An HTTP
   * error answer (a compacted revision is 410 COMPACTED) rejects with its TenetError, and a
   * line that is not a message with a numeric revision rejects too: neither may ever reach
   * the cache as events. Bytes are decoded as a stream, so a character split across two
   * chunks arrives whole.
   */
  watch(revision: number, onMessage: (m: WatchMessage) => void, signal?: AbortSignal, idleMs = WATCH_IDLE_MS): Promise<void> {
    return this.follow(`/v1/watch?revision=${revision}`, onMessage, signal, idleMs);
  }

  /**
   * What concerns `host` only (ADR 011): its view as `put` messages, one `synced`, then
   * live changes; a `resync` ends the stream (list again by calling this again). Resolves
   * and rejects as watch() does.
   */
  watchHost(host: string, onMessage: (m: WatchMessage) => void, signal?: AbortSignal, idleMs = WATCH_IDLE_MS, applied = 0): Promise<void> {
    // `applied`: the revision this host has applied; the view is never older (ADR 023),
    // which matters when the stream resumes on another replica.
    return this.follow(`/v1/watch?host=${enc(host)}${applied > 0 ? `&revision=${applied}` : ''}`, onMessage, signal, idleMs);
  }

  /**
   * watch() that survives the loss of a replica: when a stream ends or fails to connect, it
   * opens the next one, on whichever replica answers, from where the last one stopped.
   * Revisions are the store's, the same on every replica, so every event arrives exactly
   * once and in order (ADR 023). Returns when `signal` aborts; rejects on an answer that is
   * not a connection failure (410 COMPACTED: list again), and after `attempts` connection
   * failures in a row (default: never gives up).
   */
  async watchResuming(revision: number, onMessage: (m: WatchMessage) => void, signal: AbortSignal, opts: { idleMs?: number; attempts?: number } = {}): Promise<void> {
    const resume = new ResumePoint(revision);
    let failures = 0;
    const pass = (m: WatchMessage) => {
      if (m.type === 'compacted') throw new TenetError('COMPACTED', `revision ${resume.after} was compacted (oldest kept: ${m.revision})`, 'list again (GET /v1/snapshot)');
      failures = 0;
      if (resume.fresh(m)) onMessage(m);
    };
    while (!signal.aborted) {
      try {
        await this.watch(resume.after, pass, signal, opts.idleMs);
      } catch (err) {
        if (!(err instanceof TenetError) || err.code !== 'CONTROLLER_UNREACHABLE') throw err;
        if (++failures >= (opts.attempts ?? Infinity)) throw err;
        await pause(Math.min(100 * 2 ** failures, 2_000), signal);
      }
    }
  }

  /** GET /v1/snapshot?host=H: the host's view as one Snapshot. */
  hostSnapshot = (host: string) => this.transport.request<Snapshot>('GET', `/v1/snapshot?host=${enc(host)}`);

  private async follow(path: string, onMessage: (m: WatchMessage) => void, signal: AbortSignal | undefined, idleMs: number): Promise<void> {
    const res = await this.transport.stream(path);
    if ((res.statusCode ?? 500) >= 400) throw await errorAnswer(res);
    // The controller sends a bookmark when idle (every 5 s): silence means a dead peer whose
    // connection never closed (a crash behind a partition); end the watch so the caller resumes.
    res.setTimeout(idleMs, () => res.destroy(new TenetError('CONTROLLER_UNREACHABLE', `the watch stream was silent for ${idleMs / 1000} s`, 'the agent resumes it by itself')));
    const abort = () => res.destroy();
    signal?.addEventListener('abort', abort, { once: true });
    // An abort while the response was on its way fired before the listener existed: a held
    // stream would then never end (found as a CI hang of the sync test under load).
    if (signal?.aborted) abort();
    res.setEncoding('utf8');
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) onMessage(parseWatchLine(line));
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      // A connection lost mid-stream is a controller gone, as a refused one is: resumable.
      if (err instanceof TenetError) throw err;
      throw new TenetError('CONTROLLER_UNREACHABLE', `the watch stream from ${this.transport.currentAddress} broke (${(err as Error).message})`, 'resume from the last revision (the agent does)');
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  close(): void {
    this.transport.close();
  }
}

export class AgentClient {
  readonly transport: Transport;

  constructor(address: string, timeoutMs?: number) {
    this.transport = new Transport(address, 'AGENT_UNREACHABLE', { timeoutMs });
  }

  health = () => this.transport.request<Health>('GET', '/v1/health');
  /** Store, controllers and leader, hosts up/down, objects not realized everywhere (admin). */
  status = () => this.transport.request<ClusterStatus>('GET', '/v1/status');
  /** Creates an endpoint on this host and attaches it in one call (detached without netns/pid). */
  attach = (req: AttachRequest) => this.transport.request<Endpoint>('POST', '/v1/endpoints', req);
  attachExisting = (id: string, req: AttachExistingRequest) => this.transport.request<Endpoint>('POST', `/v1/endpoints/${enc(id)}/attach`, req);
  /** Unbinds the endpoint from its namespace; it keeps its name, labels, MAC and address. */
  detach = (id: string) => this.transport.request<Endpoint>('POST', `/v1/endpoints/${enc(id)}/detach`);
  /** Removes the endpoint: detaches it if attached and releases its address. */
  remove = (id: string) => this.transport.request<void>('DELETE', `/v1/endpoints/${enc(id)}`);
  listEndpoints = () => this.transport.request<Endpoint[]>('GET', '/v1/endpoints');
  /** Attaches a running container of this host's dockerd, by id or name. */
  attachContainer = (req: ContainerAttachRequest) => this.transport.request<Endpoint>('POST', '/v1/docker/attach', req);
  /** Removes the container's endpoints (of one network); answers their ids. */
  detachContainer = (req: ContainerDetachRequest) => this.transport.request<{ removed: string[] }>('POST', '/v1/docker/detach', req);

  close(): void {
    this.transport.close();
  }
}
