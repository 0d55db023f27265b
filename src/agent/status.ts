/**
 * Reports each local endpoint's realization (up, or error with the reason) to the
 * controller, once per change: it remembers what it reported, so repeated reconciles and
 * late watch events do not turn into repeated writes. A report for some tenants reads only
 * their local endpoints (the cache's index), and a failure's message is cut to the bound the
 * controller stores (model/limits.ts), so a long kernel error never gets the report refused.
 */
import type { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import type { SetResult } from '../datapath/datapath.js';
import type { HostPlan } from '../datapath/plan.js';
import { MAX_STATUS_DETAIL, truncate } from '../model/limits.js';
import type { Endpoint } from '../model/types.js';
import type { ObjectCache } from './cache.js';

export class StatusReporter {
  /** Tenant → endpoint id → what was reported, so a report of one tenant weighs only its own. */
  private readonly reported = new Map<string, Map<string, string>>();

  constructor(
    private readonly controller: ControllerClient,
    private readonly cache: ObjectCache,
    private readonly logger: Logger,
    /** False for an endpoint whose unfinished attach waits for its caller, or whose attach runs (claims.ts). */
    private readonly reportable: (id: string) => boolean = () => true,
  ) {}

  /**
   * Reports the local endpoints of `tenants` (all tenants: every local endpoint); returns how
   * many it weighed. `completing`: the endpoint whose attach this reconcile completes,
   * reported even though its attach is in flight.
   */
  async report(host: string, plan: HostPlan, result: SetResult, tenants?: Set<string>, completing?: string): Promise<number> {
    const mtus = new Map(plan.tenants.flatMap((t) => t.ports.map((p) => [p.endpointId, p.mtu] as const)));
    const scope = tenants ?? new Set([...this.reported.keys(), ...this.cache.tenantsOn(host)]);
    const due: Endpoint[] = [];
    let weighed = 0;
    for (const tenant of scope) {
      // Only ports this host realizes have a status to report; a detached endpoint's is "detached".
      const mine = [...this.cache.endpointsOn(host, tenant).values()].filter((e) => e.attachment !== undefined);
      this.forgetGone(tenant, mine);
      weighed += mine.length;
      due.push(...mine.filter((e) => e.id === completing || this.reportable(e.id)));
    }
    await Promise.all(due.map((e) => this.reportOne(e, result.failedPorts.get(e.id)?.message, mtus.get(e.id))));
    return weighed;
  }

  /** Drops what was reported for endpoints of `tenant` that are no longer attached here. */
  private forgetGone(tenant: string, mine: Endpoint[]): void {
    const reported = this.reported.get(tenant);
    if (!reported) return;
    const live = new Set(mine.map((e) => e.id));
    for (const id of reported.keys()) if (!live.has(id)) reported.delete(id);
    if (reported.size === 0) this.reported.delete(tenant);
  }

  private async reportOne(e: Endpoint, failure: string | undefined, mtu: number | undefined): Promise<void> {
    // A kernel message can be long (netlink's, an nft script's): cut to what the controller stores.
    const detail = failure === undefined ? undefined : truncate(failure, MAX_STATUS_DETAIL);
    const status = detail !== undefined ? 'error' : 'up';
    const key = `${status}|${detail ?? ''}|${mtu}`;
    const current = `${e.status}|${e.statusDetail ?? ''}|${e.mtu}`;
    if (current === key || this.reported.get(e.tenant)?.get(e.id) === key) return;
    try {
      const updated = await this.controller.setEndpointStatus(e.id, { status, detail, mtu });
      let reported = this.reported.get(e.tenant);
      if (!reported) this.reported.set(e.tenant, (reported = new Map()));
      reported.set(e.id, key);
      if (this.cache.endpoints.has(e.id)) this.cache.putLocalEndpoint(updated);
    } catch (err) {
      this.logger.warn({ endpoint: e.id, err: (err as Error).message }, 'could not report endpoint status');
    }
  }
}
