/**
 * The per-host agent: keeps this host's kernel in line with the controller's objects.
 *
 * Every kernel change goes through one SerialQueue, so an attach and a watch-driven
 * reconcile never interleave. Watch events only mark tenants dirty; a reconcile then plans
 * from those tenants' objects only (the cache's indexes) and converges just them. A periodic full resync repairs
 * drift (somebody deleted a link by hand). The agent never flushes: a restart re-reads the
 * kernel, finds it matching, and changes nothing (datapath.ts).
 *
 * A full reconcile (start, resync, a re-list) also reads every workload namespace back, one
 * process each: it does that before taking the queue (readWorkloads), so an attach never
 * waits behind hundreds of reads (issue 9: a 19 s ADD at 200 endpoints).
 *
 * Before every reconcile the workload namespaces of this host's endpoints are re-read by
 * identity (workload-check.ts): one whose path now names another namespace, or none, is left
 * out of the plan (its namespace is never touched) and its endpoint is garbage-collected; one
 * whose identity cannot be read is kept but never entered, and reported as an error.
 * Attaches an earlier run of the agent never completed are rolled back (claims.ts). Between
 * reconciles, a cheap sweep (reclaim.ts, every 10 s) looks for gone namespaces only.
 */
import type { ControllerClient } from '../api/client.js';
import type { WatchMessage } from '../api/types.js';
import { netnsAttachment, type Endpoint, type PublishedPort } from '../model/types.js';
import { isTenetError } from '../model/errors.js';
import { jittered, SerialQueue } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { Datapath, type SetResult } from '../datapath/datapath.js';
import { tenantNs } from '../datapath/names.js';
import { buildPlan, type HostPlan, type TenantPolicy } from '../datapath/plan.js';
import type { WorkloadReads } from '../datapath/workload-reads.js';
import { ObjectCache, type Change } from './cache.js';
import { runSync } from './sync.js';
import type { Underlay } from './underlay.js';
import { CompiledPolicies } from './policy.js';
import { Realization } from './realized.js';
import { HostLeaseKeeper } from './host-lease.js';
import { StatusReporter } from './status.js';
import { UnfinishedAttaches } from './claims.js';
import { kernelNamespaces, type WorkloadNamespaces } from './namespaces.js';
import { collectStale, splitByNamespace } from './workload-check.js';
import { Reclaimer } from './reclaim.js';
import type { PortPublisher } from './ports.js';

export interface AgentOptions {
  host: string;
  nsPrefix: string;
  underlay: Underlay;
  controller: ControllerClient;
  datapath: Datapath;
  logger: Logger;
  /** Lease keep-alive period (default: a third of the lease TTL the controller grants). */
  heartbeatMs?: number;
  /** Base period of the full resync (default 60 s; each period is drawn between 1 and 1.25 times it). */
  resyncMs?: number;
  /** How long an attach left unfinished by an earlier run waits for its caller's retry (claims.ts). */
  claimWindowMs?: number;
  /** Workload namespaces: the guard and identity reads (a fake in unit tests). */
  namespaces?: WorkloadNamespaces;
  /** Realizes the endpoints' published ports (ADR 016); absent: ports are not published here. */
  ports?: PortPublisher;
  /** Period of the reclaim sweep (reclaim.ts, default 10 s; 0: only start and resync reclaim). */
  reclaimMs?: number;
}

/** A service that follows the agent's view (DNS, issue 10): told of watch messages and finished reconciles. */
export interface ViewFollower {
  viewChanged(): void;
  reconciled(): void;
  stop(): void;
}

export class Agent {
  readonly cache = new ObjectCache();
  readonly queue = new SerialQueue();
  private readonly abort = new AbortController();
  private readonly status: StatusReporter;
  private dirty: Set<string> | 'all' = new Set();
  private scheduled = false;
  private listed = false;
  private resyncTimer?: NodeJS.Timeout;
  private running = 0;
  /** Revision of the last change that could matter to this host (see onMessage). */
  private relevantRevision = 0;
  readonly realization: Realization = new Realization(() => this.opts.controller.reportRealized(this.host, this.realization.revision));
  /** The host's lease: registration and keep-alives (host-lease.ts). */
  readonly liveness: HostLeaseKeeper;
  /** Full reconciles (every tenant read back): a restart's first must change nothing (tests check). */
  readonly reconciles = { full: 0, lastFullAt: '', lastFullChanged: [] as string[] };
  /** What the last reconcile read: objects planned from, endpoints whose status it weighed, namespaces it checked (agent-cost.test.ts). */
  readonly lastReconcile = { planInputs: 0, statusCandidates: 0, namespaceChecks: 0 };

  readonly namespaces: WorkloadNamespaces;
  /** Compiled policies per tenant, compiled again only when their inputs changed. */
  private readonly policies = new CompiledPolicies();
  readonly claims: UnfinishedAttaches;
  /** Releases endpoints whose namespace is gone or another (reclaim.ts). */
  readonly reclaimer: Reclaimer;
  private readonly followers: ViewFollower[] = [];
  /** Tenant → its last reconcile: the endpoints it planned, the plan and the result (completeAttach). */
  private readonly lastConverged = new Map<string, { planned: Map<string, Endpoint>; plan: HostPlan; result: SetResult }>();

  constructor(readonly opts: AgentOptions) {
    this.namespaces = opts.namespaces ?? kernelNamespaces(() => opts.datapath.ownedIdentities(), opts.logger);
    const actions = {
      remove: (ep: Endpoint) => this.removeEndpoint(ep, 'its attach never completed'),
      detach: (ep: Endpoint) => this.detachEndpoint(ep),
      lookup: (id: string) => this.lookupLocal(id),
    };
    this.claims = new UnfinishedAttaches(actions, opts.logger, opts.claimWindowMs);
    this.reclaimer = new Reclaimer(this, opts.logger, opts.reclaimMs);
    this.status = new StatusReporter(opts.controller, this.cache, opts.logger, (id) => this.claims.reportable(id));
    const { vtep, mtu, name } = opts.underlay;
    const registration = () => ({ vtep, underlayMtu: mtu, underlay: name });
    const lease = { host: opts.host, controller: opts.controller, logger: opts.logger, registration, intervalMs: opts.heartbeatMs };
    this.liveness = new HostLeaseKeeper({ ...lease, onRegistered: () => this.realization.resend() });
  }

  get host(): string {
    return this.opts.host;
  }

  /** Registers the host, then lists, watches and reconciles in the background. */
  async start(): Promise<void> {
    await this.liveness.register();
    const hooks = { onListed: () => this.onListed(), onChange: (c: Change) => this.onChange(c), onMessage: (m: WatchMessage, c?: Change) => this.onMessage(m, c) };
    void runSync(this.opts.controller, this.host, this.cache, hooks, this.opts.logger, this.abort.signal);
    this.liveness.start();
    this.scheduleResync();
    this.reclaimer.start();
  }

  /**
   * The periodic full resync, jittered: a policy change landing while every host of a lab or a
   * rack reconciles at once would wait behind all of their full passes.
   */
  private scheduleResync(): void {
    const base = this.opts.resyncMs ?? 60_000;
    this.resyncTimer = setTimeout(() => {
      this.markDirty('all');
      this.scheduleResync();
    }, jittered(base));
  }

  /** Adds a follower (before start); it is stopped with the agent. */
  follow(f: ViewFollower): void {
    this.followers.push(f);
  }

  stop(): void {
    this.abort.abort();
    for (const f of this.followers) f.stop();
    clearTimeout(this.resyncTimer);
    this.realization.stop();
    this.liveness.stop();
    this.claims.stop();
    this.reclaimer.stop();
  }

  /**
   * Deletes an endpoint of this host the agent gave up on (tombstoned first, so no late
   * event brings its port back), then converges its tenant: port gone, address released.
   * `reclaimed`: the agent releases it on its own (a rolled-back attach, a gone container),
   * so the controller records why (`tenet ep ls --stale`); a user's command is no reclaim.
   */
  async removeEndpoint(ep: Endpoint, why: string, reclaimed = true): Promise<void> {
    const undo = this.cache.forgetLocalEndpoint(ep.id, ep);
    try {
      await this.opts.controller.deleteEndpoint(ep.id, reclaimed ? why : undefined);
    } catch (err) {
      undo();
      throw err;
    }
    this.opts.logger.warn({ endpoint: ep.id, tenant: ep.tenant, ip: ep.ip, why }, 'endpoint removed by the agent');
    await this.reconcileTenants(new Set([ep.tenant]));
  }

  private async detachEndpoint(ep: Endpoint): Promise<void> {
    this.cache.putLocalEndpoint(await this.opts.controller.detachEndpoint(ep.id));
    await this.reconcileTenants(new Set([ep.tenant]));
  }

  /** The controller's endpoint `id` if it is this host's (claims.ts weighs an attach whose answer was lost). */
  private async lookupLocal(id: string): Promise<Endpoint | undefined> {
    try {
      const ep = await this.opts.controller.getEndpoint(id);
      return ep.host === this.host ? ep : undefined;
    } catch (err) {
      if (isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * Sets the published ports of an endpoint of this host (replacing its list; [] clears them)
   * in the controller, then realizes them now: the one entry point Docker's
   * Program/RevokeExternalConnectivity and CNI portMappings use (ADR 016). The controller
   * refuses a host port another endpoint of this host publishes (HOST_PORT_IN_USE).
   */
  async publishPorts(endpointId: string, ports: PublishedPort[]): Promise<Endpoint> {
    const ep = await this.opts.controller.setEndpointPorts(endpointId, ports);
    if (ep.host === this.host) this.cache.putLocalEndpoint(ep);
    await this.reconcileTenants(new Set([ep.tenant]));
    return ep;
  }

  /**
   * Converges the given tenants now (serialized); used by attach and detach. `completing`:
   * the endpoint an attach completes with this reconcile (its status is written by it only).
   */
  reconcileTenants(tenants: Set<string>, completing?: string): Promise<SetResult> {
    return this.queue.run(() => this.reconcile(tenants, completing));
  }

  /**
   * An attach's reconcile of its endpoint `ep` (netns attachments). The watch event of the
   * controller's create usually arrives before its answer, and the reconcile it starts realizes
   * the port: when the tenant's last reconcile planned this very endpoint (same generation,
   * attachment, address) with success, its result is the attach's, and only the status is reported. That
   * saves a second namespace check, plan and diff of the whole tenant per ADD (docs/benchmarks.md,
   * CNI). Otherwise, or when nothing planned it yet, the tenant is reconciled as before.
   */
  completeAttach(ep: Endpoint): Promise<SetResult> {
    return this.queue.run(async () => {
      const last = this.lastConverged.get(ep.tenant);
      const failed = last && (last.result.failedPorts.has(ep.id) || last.result.failedNamespaces.has(tenantNs(this.opts.nsPrefix, ep.tenant)));
      // A failure is tried again by a reconcile of its own, as before (it may have been passing).
      if (!last || failed || !samePlanned(last.planned.get(ep.id), ep)) return this.reconcile(new Set([ep.tenant]), ep.id);
      await this.status.report(this.host, last.plan, last.result, new Set([ep.tenant]), ep.id);
      return last.result;
    });
  }

  /** A full reconcile now (serialized), as the periodic resync does; tests count its cost. */
  async reconcileAll(): Promise<SetResult> {
    const reads = await this.readWorkloads();
    return this.queue.run(() => this.reconcile(undefined, undefined, reads));
  }

  /**
   * A full reconcile's reads of the workload namespaces of this host's endpoints, taken
   * before it queues: attaches and removes run meanwhile (Datapath.readWorkloads keeps only
   * what they did not change). Only namespaces whose identity is confirmed are entered, as
   * in the reconcile (workload-check.ts). A failure leaves the reconcile to read them itself.
   */
  private async readWorkloads(): Promise<WorkloadReads | undefined> {
    try {
      const { live, held } = await splitByNamespace(this.host, this.cache.endpointsOn(this.host).values(), this.namespaces);
      const paths = live.filter((e) => !held.has(e.id)).map((e) => netnsAttachment(e)?.netns ?? '');
      // Each read waits for the calls queued before it: it yields to them, they never wait for it.
      const idle = () => this.queue.run(async () => undefined);
      return await this.opts.datapath.readWorkloads(paths.filter((p) => p !== ''), idle);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not read the workload namespaces before a full reconcile; it reads them itself');
      return undefined;
    }
  }

  private onListed(): void {
    this.listed = true;
    // Not waiting for the first reconcile: after a restart the namespaces are there already,
    // and DNS answers again sooner (a follower retries what cannot be done yet).
    for (const f of this.followers) f.reconciled();
    this.claims.collect(this.host, this.cache.endpoints.values());
    this.relevantRevision = this.cache.revision;
    this.markDirty('all');
  }

  private onChange(change: Change): void {
    this.markDirty(change.tenant ?? 'all');
  }

  private markDirty(tenant: string | 'all'): void {
    if (!this.listed) return; // never act on a partial view: deleting would be wrong
    if (tenant === 'all' || this.dirty === 'all') this.dirty = 'all';
    else this.dirty.add(tenant);
    if (this.scheduled) return;
    this.scheduled = true;
    // Debounce: the dirty set is taken when the reconcile starts, not when it is queued, so a
    // burst of events arriving while another reconcile (or an attach) runs makes one more
    // reconcile, not one per event (agent.test.ts counts them).
    setImmediate(() => {
      this.reconcileDirty().catch((err) => {
        this.opts.logger.error({ err: (err as Error).message }, 'reconcile failed; will retry on the next change or resync');
      });
    });
  }

  /**
   * What markDirty scheduled; a full one reads the workloads first, outside the queue. One
   * made full after this was queued (the resync timer while a watch event's reconcile
   * waits: usual under a stream of attaches) reads them first too: it is scheduled again.
   */
  private async reconcileDirty(): Promise<SetResult | undefined> {
    const read = this.dirty === 'all';
    const reads = read ? await this.readWorkloads() : undefined; // undefined after a failure: set() reads them
    return this.queue.run(() => {
      this.scheduled = false;
      const dirty = this.dirty;
      if (dirty === 'all' && !read) {
        this.markDirty('all');
        return Promise.resolve(undefined);
      }
      this.dirty = new Set();
      return dirty === 'all' ? this.reconcile(undefined, undefined, reads) : this.reconcile(dirty);
    });
  }

  /**
   * Heartbeats and realization reports of other hosts are not changes to realize: counting
   * them would make every report trigger a report on every other host, forever.
   */
  private onMessage(m: WatchMessage, change: Change | undefined): void {
    if ((m.type === 'put' || m.type === 'delete') && (m.kind !== 'host' || change)) this.relevantRevision = m.revision;
    if (m.type !== 'bookmark') for (const f of this.followers) f.viewChanged();
    this.settle();
  }

  private settle(): void {
    this.realization.settle(this.relevantRevision, this.listed && !this.scheduled && this.running === 0);
  }

  private async reconcile(tenants?: Set<string>, completing?: string, reads?: WorkloadReads): Promise<SetResult> {
    this.running++;
    try {
      return await this.converge(tenants, completing, reads);
    } finally {
      this.running--;
      this.settle();
    }
  }

  /**
   * The tenant's compiled policy (issue 7): nft fragments, rate limits per endpoint and the
   * predicate that cuts established flows a change denies. The one place the policy compiler
   * (src/policy/) plugs into the datapath; undefined until it is wired: no policy, no limits.
   */
  private policyFor(tenant: string): TenantPolicy | undefined {
    const { networks, endpoints } = this.cache.scopeOf([tenant]);
    const policies = [...this.cache.policies.values()].filter((p) => p.tenant === tenant);
    return this.policies.get(tenant, networks, endpoints, policies);
  }

  /** Every attached endpoint of this host with its published ports; cheap when unchanged. */
  private async realizePorts(): Promise<void> {
    try {
      await this.opts.ports?.realize([...this.cache.endpointsOn(this.host).values()]);
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'publishing ports failed; will retry on the next reconcile');
    }
  }

  private rememberConverged(tenants: Iterable<string>, live: Endpoint[], plan: HostPlan, result: SetResult): void {
    const planned = new Map<string, Map<string, Endpoint>>();
    for (const t of tenants) planned.set(t, new Map());
    for (const e of live) if (e.host === this.host) planned.get(e.tenant)?.set(e.id, e);
    for (const [t, eps] of planned) this.lastConverged.set(t, { planned: eps, plan, result });
  }

  private async converge(tenants?: Set<string>, completing?: string, reads?: WorkloadReads): Promise<SetResult> {
    // Only the tenants in question (a full reconcile: every tenant with an endpoint here),
    // from the cache's indexes: an attach costs what its tenant holds, not what the cache does.
    const t0 = performance.now();
    const took: Record<string, number> = {}; // where a reconcile's time went (the debug log)
    const mark = (stage: string) => (took[stage] = Math.round(performance.now() - t0));
    const inScope = tenants ?? this.cache.tenantsOn(this.host);
    const scope = this.cache.scopeOf(inScope);
    const { live, stale, held, checked } = await splitByNamespace(this.host, scope.endpoints, this.namespaces, tenants);
    mark('namespaces');
    const plan = buildPlan({
      host: this.host,
      vtep: this.opts.underlay.vtep,
      underlayMtu: this.opts.underlay.mtu,
      underlay: this.opts.underlay.name,
      nsPrefix: this.opts.nsPrefix,
      networks: scope.networks,
      endpoints: live,
      hosts: scope.hosts,
      policyFor: (tenant) => this.policyFor(tenant),
    });
    mark('plan');
    const result = await this.opts.datapath.set(plan, tenants, held, tenants ? undefined : reads);
    mark('kernel');
    this.rememberConverged(inScope, live, plan, result);
    if (!tenants) {
      Object.assign(this.reconciles, { full: this.reconciles.full + 1, lastFullAt: new Date().toISOString(), lastFullChanged: result.changed });
      this.opts.logger.info({ full: true, count: this.reconciles.full, changed: result.changed }, 'full reconcile done');
    }
    this.realization.record(result, tenants && [...tenants].map((t) => tenantNs(this.opts.nsPrefix, t)));
    await collectStale(stale, this.cache, this.opts.controller, this.opts.logger);
    mark('stale');
    await this.realizePorts();
    mark('ports');
    if (this.listed) for (const f of this.followers) f.reconciled();
    const candidates = await this.status.report(this.host, plan, result, tenants, completing);
    mark('status');
    this.opts.logger.debug({ tenants: tenants && [...tenants], endpoints: live.length, ms: took }, 'reconcile stages');
    Object.assign(this.lastReconcile, { planInputs: scope.networks.length + live.length + scope.hosts.length, statusCandidates: candidates, namespaceChecks: checked });
    return result;
  }
}

/** The same endpoint as planned: same generation, attachment and address (an attach's retry or a watch event ahead of it). */
function samePlanned(planned: Endpoint | undefined, ep: Endpoint): boolean {
  return planned !== undefined && planned.createdAt === ep.createdAt && planned.ip === ep.ip && planned.mac === ep.mac && JSON.stringify(planned.attachment) === JSON.stringify(ep.attachment);
}
