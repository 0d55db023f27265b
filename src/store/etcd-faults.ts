/**
 * How the etcd client rides out a dead member or an etcd leader change (ADR 021, addendum).
 * etcd3's default fault handling made a store call hang or fail for 10 s and more when the
 * raft leader died: its per-member circuit breaker counted deadline misses and "no leader"
 * answers from live members, so during the election every member's breaker opened (5 s, and
 * again when the one half-open trial failed), and its global retry ran up to three full
 * deadlines. Here instead:
 * - a member is skipped only when it cannot be reached (connect refused or failing), for
 *   one second, then tried again;
 * - a call is retried, with a short backoff, only when etcd surely did not take it (nothing
 *   was sent, or etcd said it has no leader): safe for writes too, since a write retried
 *   after an ambiguous failure would find its own effect and answer "compare failed";
 * - everything else (deadline, a connection dropped mid-call) fails the call at once, so a
 *   call never outlasts its deadline by more than the retries of fast failures.
 * etcd3 only ever calls `execute` on these policies.
 */
import { GRPCUnavailableError, type IOptions } from 'etcd3';
import { sleep } from '../base/async.js';

type Faults = NonNullable<IOptions['faultHandling']>;
type Call<T> = () => Promise<T> | T;

/** A member this client just failed to reach: the call moves on to another member. */
export class MemberSkippedError extends Error {
  constructor(readonly member: string) {
    super(`etcd member ${member} was unreachable moments ago (skipped)`);
  }
}

const UNREACHABLE = /No connection established|ECONNREFUSED|ECONNRESET before|connect ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|Failed to connect/i;
const NOT_TAKEN = /etcdserver: (no leader|not capable|too many requests)|raft proposal dropped/;

/** The member could not be reached at all: nothing was sent. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof GRPCUnavailableError && UNREACHABLE.test(err.message);
}

/** etcd did not take the call: sending it again (elsewhere, or a moment later) is safe. */
export function isNotTaken(err: unknown): boolean {
  if (err instanceof MemberSkippedError) return true;
  return err instanceof Error && (isUnreachable(err) || NOT_TAKEN.test(err.message));
}

const SKIP_MS = 1000;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;

/** Skips a member for SKIP_MS after it could not be reached twice in a row. */
class MemberGuard {
  private failures = 0;
  private skipUntil = 0;

  constructor(private readonly member: string) {}

  async execute<T>(fn: Call<T>): Promise<T> {
    if (Date.now() < this.skipUntil) throw new MemberSkippedError(this.member);
    try {
      const result = await fn();
      this.failures = 0;
      return result;
    } catch (err) {
      if (isUnreachable(err) && ++this.failures >= 2) {
        this.failures = 0;
        this.skipUntil = Date.now() + SKIP_MS;
      }
      throw err;
    }
  }
}

/** Retries what etcd did not take, with a doubling backoff, for at most `budgetMs`. */
class NotTakenRetry {
  constructor(private readonly budgetMs: number) {}

  async execute<T>(fn: Call<T>): Promise<T> {
    const giveUpAt = Date.now() + this.budgetMs;
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        return await fn();
      } catch (err) {
        if (!isNotTaken(err) || Date.now() + delay >= giveUpAt) throw err;
        await sleep(delay);
      }
    }
  }
}

/** etcd3's faultHandling option: a guard per member and the global retry. */
export function faultHandling(budgetMs: number): Faults {
  return {
    host: (member: string) => new MemberGuard(member) as unknown as ReturnType<Faults['host'] & object>,
    global: new NotTakenRetry(budgetMs) as unknown as Faults['global'],
  };
}
