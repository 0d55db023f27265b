/**
 * The agent's own garbage collector of endpoints (issue 9: no leaked address, ever). A
 * runtime killed mid-ADD never sends its DEL; a host reboot removes every namespace while
 * the store still holds their endpoints; a name re-made is another namespace. Nobody else
 * will release those addresses, so the agent does, on its own:
 *
 * - at start: the first full reconcile after the first list checks every endpoint of this
 *   host (workload-check.ts), so a reboot's ghosts go before anything else happens;
 * - every `intervalMs` (default 10 s, `--reclaim-ms` / TENET_RECLAIM_MS): this sweep re-reads
 *   the namespace of every endpoint of this host attached to one (a stat or two each, no
 *   process, no controller call) and, only when one is gone or is another namespace,
 *   reconciles its tenant. That reconcile leaves it out of the plan (its veth's host side and
 *   pinning elements are removed; its namespace is never entered) and then deletes it with
 *   the reason, which the controller records in the same txn (GET /v1/reclaimed).
 *
 * So a ghost is visible in `tenet ep ls` for at most one period plus one reconcile. Which
 * endpoints are never reclaimed here (ADR 017): detached ones (no namespace: they hold their
 * address by design), handoff ones (Docker's driver: dockerd owns the sandbox, Leave and
 * DeleteEndpoint release them), endpoints of other hosts, one whose attach is running in
 * this process (its attach decides), and one whose namespace cannot be read (held).
 */
import type { Logger } from '../base/logger.js';
import { netnsAttachment, type Endpoint } from '../model/types.js';
import type { Agent } from './agent.js';
import { splitByNamespace } from './workload-check.js';

export const DEFAULT_RECLAIM_MS = 10_000;

export class Reclaimer {
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  /** Sweeps done and endpoints they found stale (tests, status). */
  readonly counts = { sweeps: 0, stale: 0 };

  constructor(private readonly agent: Agent, private readonly logger: Logger, private readonly intervalMs = DEFAULT_RECLAIM_MS) {}

  /** 0 disables the sweep (the start and resync reconciles still reclaim). */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One sweep now; resolves to how many endpoints it found stale (each then reclaimed by its tenant's reconcile). */
  async sweep(): Promise<number> {
    // Before the first full reconcile the view is partial, and that reconcile reclaims anyway.
    if (this.sweeping || this.agent.reconciles.full < 1) return 0;
    this.sweeping = true;
    try {
      return await this.sweepOnce();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'reclaim sweep failed; will retry at the next');
      return 0;
    } finally {
      this.sweeping = false;
    }
  }

  private async sweepOnce(): Promise<number> {
    const candidates = this.candidates();
    this.agent.namespaces.retain?.(new Set(candidates.map((e) => netnsAttachment(e)!.netns)));
    const { stale } = await splitByNamespace(this.agent.host, candidates, this.agent.namespaces);
    this.counts.sweeps++;
    if (stale.length === 0) return 0;
    this.counts.stale += stale.length;
    this.logger.info({ stale: stale.map((s) => ({ endpoint: s.endpoint.id, why: s.why })) }, 'reclaiming endpoints whose namespace is gone or another');
    await this.agent.reconcileTenants(new Set(stale.map((s) => s.endpoint.tenant)));
    return stale.length;
  }

  /** Endpoints of this host bound to a namespace, but those an attach in this process is still making. */
  private candidates(): Endpoint[] {
    const mine = [...this.agent.cache.endpointsOn(this.agent.host).values()];
    return mine.filter((e) => netnsAttachment(e) !== undefined && !this.agent.claims.attachingNow(e.id));
  }
}
