/**
 * Test support for "no acknowledged write is lost" (issue 11, failure tests): concurrent
 * chains of API writes, each chain writing its own objects one step at a time, so that for
 * every object the test knows the last version the controller acknowledged (a 2xx with the
 * object) and, at most, one later write whose answer never came. After a crash, each object
 * must be that acknowledged version, or what the unanswered write would have made (it may or
 * may not have been committed: the client cannot know). An object whose creation was never
 * acknowledged may or may not exist.
 */
import assert from 'node:assert/strict';

/** One object the chains write, and what the client saw of its writes. */
export class Tracked<T> {
  /** The last version a 2xx answered with. */
  acked?: T;
  /** What the last, unanswered write would have made (it was sent after `acked`). */
  unanswered?: (stored: T) => boolean;

  /**
   * `same`: the fields that must be identical to the acknowledged version (all, unless
   * another writer, such as an agent reporting status, may change some).
   */
  constructor(readonly name: string, readonly read: () => Promise<T | undefined>, readonly same: (o: T) => unknown = (o) => o) {}
}

/** Thrown by a write the controller did not answer: its chain stops there. */
class Unanswered extends Error {}

/** Counts acknowledgements and collects errors that came while the controller was up. */
export class WriteLog {
  acks = 0;
  sent = 0;
  unanswered = 0;
  /** Set just before the kill: errors after it are expected, errors before are failures. */
  killing = false;
  readonly rejected: string[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  /**
   * Sends one write of `obj`. `intends`: whether a stored version is what this write makes,
   * for when its answer never comes. Resolves with the acknowledged object.
   */
  async write<T>(obj: Tracked<T>, send: () => Promise<T>, intends: (stored: T) => boolean): Promise<T> {
    this.sent++;
    try {
      const value = await send();
      obj.acked = value;
      obj.unanswered = undefined;
      this.acks++;
      this.waiters.filter((w) => this.acks >= w.count).forEach((w) => w.resolve());
      return value;
    } catch (err) {
      obj.unanswered = intends;
      this.unanswered++;
      if (!this.killing) this.rejected.push(`${obj.name}: ${(err as Error).message}`);
      throw new Unanswered(obj.name);
    }
  }

  /** Resolves once `count` writes were acknowledged. */
  acked(count: number): Promise<void> {
    return this.acks >= count ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** Runs `steps` one after the other until the first unanswered one (the controller is gone). */
export async function chain(steps: number, step: (s: number) => Promise<unknown>): Promise<void> {
  for (let s = 0; s < steps; s++) {
    try {
      await step(s);
    } catch (err) {
      if (err instanceof Unanswered) return;
      throw err;
    }
  }
}

/** What a check found: how many objects held their acknowledged version, or the unanswered write's. */
export interface Verdict {
  acknowledged: number;
  tookUnanswered: number;
  createdUnanswered: number;
}

/** Every acknowledged object is there, identical, or took its unanswered write. */
export async function assertAcknowledgedKept(objects: Tracked<unknown>[]): Promise<Verdict> {
  const v: Verdict = { acknowledged: 0, tookUnanswered: 0, createdUnanswered: 0 };
  for (const o of objects) {
    const stored = await o.read();
    if (o.acked === undefined) {
      // Its creation was sent and never answered: it may or may not have been committed.
      if (stored !== undefined) v.createdUnanswered++;
      continue;
    }
    assert.ok(stored !== undefined, `${o.name}: acknowledged, and gone after the restart`);
    if (o.unanswered?.(stored)) {
      v.tookUnanswered++;
      continue;
    }
    assert.deepEqual(o.same(stored), o.same(o.acked), `${o.name}: not the acknowledged version${o.unanswered ? ' nor the unanswered write' : ''}`);
    v.acknowledged++;
  }
  return v;
}
