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
 *
 * The same holds for an attach of this run whose controller call failed in a way that may
 * have been applied (the answer was lost: STORE_UNAVAILABLE when etcd's deadline passed
 * after it took the write, CONTROLLER_UNREACHABLE after the request left; ADR 021, 023).
 * Its caller got an error, yet the endpoint may exist, `pending`, holding its address. Its
 * id (every attach carries one, attach.ts) waits for a retry for one window; then the agent
 * looks it up at the controller and rolls it back if it is still an unfinished attach here.
 */
import type { Logger } from '../base/logger.js';
import { isTenetError, type ErrorCode } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';

export const DEFAULT_CLAIM_WINDOW_MS = 30_000;

export interface ClaimActions {
  /** Deletes an endpoint the unfinished attach created (and converges its tenant). */
  remove(ep: Endpoint): Promise<void>;
  /** Detaches an endpoint an unfinished attach-existing bound. */
  detach(ep: Endpoint): Promise<void>;
  /** The endpoint as the controller has it now; undefined when it does not exist or is another host's. */
  lookup(id: string): Promise<Endpoint | undefined>;
}

/** Answers after which the call may still have been applied: only a later read tells. */
const AMBIGUOUS: ReadonlySet<ErrorCode> = new Set(['STORE_UNAVAILABLE', 'CONTROLLER_UNREACHABLE', 'INTERNAL']);

/** Whether a failed controller call may nevertheless have been applied. */
export function mayHaveApplied(err: unknown): boolean {
  return !isTenetError(err) || AMBIGUOUS.has(err.code);
}

export class UnfinishedAttaches {
  /** Endpoint id → the endpoint found pending at the first list, not claimed yet. */
  private readonly unclaimed = new Map<string, Endpoint>();
  /** Attaches running in this process: theirs, whatever a list finds. */
  private readonly inFlight = new Map<string, number>();
  /** Ids of this run's attaches whose answer was lost: looked up after the window. */
  private readonly lost = new Map<string, NodeJS.Timeout>();
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
    return !this.unclaimed.has(id) && !this.inFlight.has(id) && !this.lost.has(id);
  }

  /** Runs an attach's controller call, claiming `id` (when known) before and after it. */
  async attaching(id: string | undefined, call: () => Promise<Endpoint>): Promise<Endpoint> {
    if (id) this.claim(id);
    const ep = await call().catch((err) => {
      if (id && mayHaveApplied(err)) this.answerLost(id);
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

  /**
   * The attach of `id` failed after its endpoint may have been made (its answer was lost, or
   * its own rollback could not delete it): unless retried within the window, it is looked up
   * then and rolled back if it is still an unfinished attach of this host.
   */
  answerLost(id: string): void {
    clearTimeout(this.lost.get(id));
    const timer = setTimeout(() => void this.settleLost(id), this.windowMs);
    timer.unref();
    this.lost.set(id, timer);
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const t of this.lost.values()) clearTimeout(t);
    this.lost.clear();
  }

  /** Ids still waiting for their caller (tests): found at the start, or whose answer was lost. */
  get waiting(): string[] {
    return [...this.unclaimed.keys(), ...this.lost.keys()];
  }

  private claim(id: string): void {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    if (this.unclaimed.delete(id)) this.logger.info({ endpoint: id }, 'an unfinished attach was retried: completing it');
    const lost = this.lost.get(id);
    if (lost) {
      clearTimeout(lost);
      this.lost.delete(id);
      this.logger.info({ endpoint: id }, 'an attach whose answer was lost was retried: completing it');
    }
  }

  /** The window of a lost answer passed unclaimed: roll back what the attach left, if anything. */
  private async settleLost(id: string): Promise<void> {
    if (!this.lost.has(id)) return;
    let ep: Endpoint | undefined;
    try {
      ep = await this.actions.lookup(id);
    } catch (err) {
      // The controller is still away: look again after another window (the id stays unreportable).
      this.logger.warn({ endpoint: id, err: (err as Error).message }, 'could not look up an attach whose answer was lost; trying again later');
      this.answerLost(id);
      return;
    }
    if (!this.lost.delete(id)) return; // claimed by a retry meanwhile
    if (!ep || ep.status !== 'pending' || ep.attachment === undefined || this.inFlight.has(id)) return;
    await this.rollBackOne(ep);
  }

  private async rollBack(): Promise<void> {
    for (const ep of [...this.unclaimed.values()]) {
      this.unclaimed.delete(ep.id);
      await this.rollBackOne(ep);
    }
  }

  /** Removes an endpoint the unfinished attach created; detaches one it bound; on failure, tries again later. */
  private async rollBackOne(ep: Endpoint): Promise<void> {
    const created = ep.createdAt === ep.updatedAt;
    try {
      await (created ? this.actions.remove(ep) : this.actions.detach(ep));
      this.logger.warn({ endpoint: ep.id, tenant: ep.tenant, ip: ep.ip, action: created ? 'removed' : 'detached' }, 'rolled back an attach that never completed and was not retried');
    } catch (err) {
      if (isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND') return; // removed meanwhile
      // The controller may be away: look it up again after another window, so its address is not held for ever.
      this.logger.error({ endpoint: ep.id, err: (err as Error).message }, 'could not roll back an unfinished attach; trying again after another claim window');
      this.answerLost(ep.id);
    }
  }
}
