/**
 * Reports each local endpoint's realization (up, or error with the reason) to the
 * controller, once per change: it remembers what it reported, so repeated reconciles and
 * late watch events do not turn into repeated writes.
 */
import type { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import type { SetResult } from '../datapath/datapath.js';
import type { HostPlan } from '../datapath/plan.js';
import type { Endpoint } from '../model/types.js';
import type { ObjectCache } from './cache.js';

export class StatusReporter {
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly controller: ControllerClient,
    private readonly cache: ObjectCache,
    private readonly logger: Logger,
    /** False for an endpoint whose unfinished attach waits for its caller, or whose attach runs (claims.ts). */
    private readonly reportable: (id: string) => boolean = () => true,
  ) {}

  /** `completing`: the endpoint whose attach this reconcile completes, reported even though its attach is in flight. */
  async report(host: string, plan: HostPlan, result: SetResult, tenants?: Set<string>, completing?: string): Promise<void> {
    const mtus = new Map(plan.tenants.flatMap((t) => t.ports.map((p) => [p.endpointId, p.mtu] as const)));
    // Only ports this host realizes have a status to report; a detached endpoint's is "detached".
    const mine = [...this.cache.endpoints.values()].filter((e) => e.host === host && e.attachment !== undefined && (!tenants || tenants.has(e.tenant)));
    const live = new Set(mine.map((e) => e.id));
    for (const id of this.reported.keys()) if (!live.has(id)) this.reported.delete(id);
    const reportable = mine.filter((e) => e.id === completing || this.reportable(e.id));
    await Promise.all(reportable.map((e) => this.reportOne(e, result.failedPorts.get(e.id)?.message, mtus.get(e.id))));
  }

  private async reportOne(e: Endpoint, failure: string | undefined, mtu: number | undefined): Promise<void> {
    const status = failure ? 'error' : 'up';
    const key = `${status}|${failure ?? ''}|${mtu}`;
    const current = `${e.status}|${e.statusDetail ?? ''}|${e.mtu}`;
    if (current === key || this.reported.get(e.id) === key) return;
    try {
      const updated = await this.controller.setEndpointStatus(e.id, { status, detail: failure, mtu });
      this.reported.set(e.id, key);
      if (this.cache.endpoints.has(e.id)) this.cache.putLocalEndpoint(updated);
    } catch (err) {
      this.logger.warn({ endpoint: e.id, err: (err as Error).message }, 'could not report endpoint status');
    }
  }
}
