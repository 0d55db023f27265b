/**
 * Attaches that never completed (issue #5, "an attach either happens, visibly, or leaves
 * nothing"). An attach is complete when the agent has realized it and written status `up`
 * before answering; `pending` on an endpoint of this host, attached to a namespace, means
 * an agent died mid-attach (kill -9) and its caller never got an answer.
 *
 * At its first list, the agent collects those endpoints. Their status is not reported (a
 * reconcile must not make them look complete), and after the claim window they are rolled
 * back: an endpoint the attach created is deleted (its address is released and its port,
 * whole or half, goes with the next reconcile), one an attach-existing bound is detached.
 * A caller that retries with the same idempotency key within the window claims it: the
 * retry finds the same endpoint and completes it.
 *
 * The window (30 s by default) is counted from the first list, and is longer than the CLI's
 * own retry horizon (20 s, src/cli/ep.ts): a retrying CLI always claims in time, and a
 * plugin with a longer horizon simply gets a fresh endpoint, never a leak.
 */
import type { Logger } from '../base/logger.js';
import { isTenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';

export const DEFAULT_CLAIM_WINDOW_MS = 30_000;

export interface ClaimActions {
  /** Deletes an endpoint the unfinished attach created (and converges its tenant). */
  remove(ep: Endpoint): Promise<void>;
  /** Detaches an endpoint an unfinished attach-existing bound. */
  detach(ep: Endpoint): Promise<void>;
}

export class UnfinishedAttaches {
  /** Endpoint id → the endpoint found pending at the first list, not claimed yet. */
  private readonly unclaimed = new Map<string, Endpoint>();
  /** Attaches running in this process: theirs, whatever a list finds. */
  private readonly inFlight = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private collected = false;

  constructor(
    private readonly actions: ClaimActions,
    private readonly logger: Logger,
    private readonly windowMs = DEFAULT_CLAIM_WINDOW_MS,
  ) {}

  /** Called on every list; only the first one (the agent's start) collects. */
  collect(host: string, endpoints: Iterable<Endpoint>): void {
    if (this.collected) return;
    this.collected = true;
    for (const e of endpoints) {
      if (e.host === host && e.status === 'pending' && e.attachment !== undefined && !this.inFlight.has(e.id)) this.unclaimed.set(e.id, e);
    }
    if (this.unclaimed.size === 0) return;
    this.logger.warn({ count: this.unclaimed.size, windowMs: this.windowMs }, 'found attaches that never completed; rolling them back unless retried in time');
    this.timer = setTimeout(() => void this.rollBack(), this.windowMs);
  }

  /**
   * Whether a reconcile may report the status of `id`: not while it waits for its caller,
   * and not while an attach of it runs here, whose own reconcile reports it (attach.ts).
   * Another attach's reconcile of the same tenant realizes it too, but writing `up` then
   * would make it complete before its caller has an answer: killed in between, the agent
   * would leave an endpoint its caller never got, and never roll it back.
   */
  reportable(id: string): boolean {
    return !this.unclaimed.has(id) && !this.inFlight.has(id);
  }

  /** Runs an attach's controller call, claiming `id` (when known) before and after it. */
  async attaching(id: string | undefined, call: () => Promise<Endpoint>): Promise<Endpoint> {
    if (id) this.claim(id);
    const ep = await call().catch((err) => {
      if (id) this.done(id);
      throw err;
    });
    if (ep.id !== id) this.claim(ep.id);
    return ep;
  }

  /** An attach of `id` is running in this process now (the reclaim sweep leaves it to that attach). */
  attachingNow(id: string): boolean {
    return this.inFlight.has(id);
  }

  done(id: string): void {
    const n = (this.inFlight.get(id) ?? 1) - 1;
    if (n > 0) this.inFlight.set(id, n);
    else this.inFlight.delete(id);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Ids still waiting for their caller (tests). */
  get waiting(): string[] {
    return [...this.unclaimed.keys()];
  }

  private claim(id: string): void {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    if (this.unclaimed.delete(id)) this.logger.info({ endpoint: id }, 'an unfinished attach was retried: completing it');
  }

  private async rollBack(): Promise<void> {
    for (const ep of [...this.unclaimed.values()]) {
      this.unclaimed.delete(ep.id);
      const created = ep.createdAt === ep.updatedAt;
      try {
        await (created ? this.actions.remove(ep) : this.actions.detach(ep));
        this.logger.warn({ endpoint: ep.id, tenant: ep.tenant, ip: ep.ip, action: created ? 'removed' : 'detached' }, 'rolled back an attach that never completed and was not retried');
      } catch (err) {
        if (isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND') continue; // removed meanwhile
        this.logger.error({ endpoint: ep.id, err: (err as Error).message }, 'could not roll back an unfinished attach');
      }
    }
  }
}
