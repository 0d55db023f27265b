/** Small async helpers shared by the controller, agent and lab. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs tasks one at a time in submission order. The agent funnels every datapath change
 * through one of these so that an attach and a watch-driven reconcile never interleave.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Runs `task` in the background when asked, never twice at once: a request that comes while it
 * runs makes it run once more afterwards (requests coalesce). A failure goes to `onError`.
 */
export class CoalescedRunner {
  private running = false;
  private again = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.task()
      .catch((err) => this.onError(err as Error))
      .finally(() => {
        this.running = false;
        if (!this.again) return;
        this.again = false;
        this.request();
      });
  }
}

/**
 * A period drawn anew between 1 and 1.25 times `baseMs`, for periodic work every agent does
 * (resync, counter reads): agents started together would otherwise do it in the same second,
 * forever (Kubernetes' JitterUntil does the same for the same reason).
 */
export function jittered(baseMs: number): number {
  return baseMs * (1 + Math.random() / 4);
}
