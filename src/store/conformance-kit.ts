/**
 * Helpers for the conformance suite (conformance.ts): a fresh store per case, a watch
 * recorder that can wait for events, and one-line renderings of events so that a failed
 * comparison shows what the backend actually did.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { sleep } from '../base/async.js';
import { CompactedError, type KeyValue, type Store, type WatchEvent, type WatchHandlers } from './types.js';

export interface OpenedStore {
  store: Store;
  /** Opens the same data again; the suite calls it only after closing `store`. */
  reopen?: () => Promise<Store>;
  /** Removes everything the case made, whether or not it passed. */
  cleanup: () => Promise<void>;
}

export type OpenStore = () => Promise<OpenedStore>;

/** Long enough for any backend to deliver an event it should not have delivered. */
const SETTLE_MS = 50;
const WAIT_MS = 5000;

/** A test case with a fresh store, cleaned up even when the case fails. */
export function storeCase(open: OpenStore, title: string, body: (opened: OpenedStore, t: TestContext) => Promise<void>): void {
  it(title, async (t) => {
    const opened = await open();
    try {
      await body(opened, t);
    } finally {
      await opened.cleanup();
    }
  });
}

export const settle = (): Promise<void> => sleep(SETTLE_MS);

/** Records what a watch delivers, batch by batch. */
export class Recorder implements WatchHandlers {
  readonly batches: WatchEvent[][] = [];
  readonly errors: Error[] = [];

  readonly onEvents = (events: WatchEvent[]): void => {
    this.batches.push(events);
  };

  readonly onError = (err: Error): void => {
    this.errors.push(err);
  };

  get events(): WatchEvent[] {
    return this.batches.flat();
  }

  /** Waits until at least `count` events have arrived; returns them all. */
  async waitForEvents(count: number): Promise<WatchEvent[]> {
    await this.until(() => this.events.length >= count || this.errors.length > 0);
    assert.deepEqual(this.errors, [], 'the watch failed');
    assert.ok(this.events.length >= count, `expected ${count} events within ${WAIT_MS} ms, got: ${this.events.map(brief).join(', ')}`);
    return this.events;
  }

  /** Waits until an event of `revision` has arrived (a revision's events come in one batch). */
  async waitForRevision(revision: number): Promise<WatchEvent[]> {
    const reached = () => this.events.some((e) => e.kv.modRevision >= revision);
    await this.until(() => reached() || this.errors.length > 0);
    assert.deepEqual(this.errors, [], 'the watch failed');
    assert.ok(reached(), `expected revision ${revision} within ${WAIT_MS} ms, got: ${this.events.map(brief).join(', ')}`);
    return this.events;
  }

  async waitForError(): Promise<Error> {
    await this.until(() => this.errors.length > 0);
    assert.equal(this.errors.length, 1, `expected one error, got ${this.errors.length}`);
    return this.errors[0]!;
  }

  private async until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!done() && Date.now() < deadline) await sleep(5);
  }
}

/** `put /a@3=v` or `delete /a@4`, plus `(was /a@3=v)` when the event has a prevKv. */
export function brief(e: WatchEvent): string {
  const now = e.type === 'put' ? `put ${kvText(e.kv)}` : `delete ${e.kv.key}@${e.kv.modRevision}`;
  return e.prevKv ? `${now} (was ${kvText(e.prevKv)})` : now;
}

function kvText(kv: KeyValue): string {
  return `${kv.key}@${kv.createRevision}/${kv.modRevision}=${kv.value}`;
}

export function kv(key: string, value: string, createRevision: number, modRevision: number): KeyValue {
  return { key, value, createRevision, modRevision };
}

export async function keysUnder(store: Store, prefix: string, revision?: number): Promise<string[]> {
  return (await store.list(prefix, revision)).items.map((item) => item.key);
}

/** Asserts that `promise` rejects with a CompactedError naming the compaction point. */
export async function assertCompacted(promise: Promise<unknown>, compacted: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CompactedError, `expected CompactedError, got ${String(err)}`);
    assert.equal(err.compacted, compacted);
    return true;
  });
}

/**
 * Writes that must succeed, made one after the other (each starts when the one before has
 * answered): the revision order is then the order written, on every backend. Calls in flight
 * together may be applied in any order by a networked store (etcd), and the contract does
 * not say otherwise.
 */
export async function mustWrite(...writes: (() => Promise<{ ok: boolean; revision: number }>)[]): Promise<number[]> {
  const revisions: number[] = [];
  for (const [i, write] of writes.entries()) {
    const r = await write();
    assert.ok(r.ok, `write ${i} unexpectedly failed`);
    revisions.push(r.revision);
  }
  return revisions;
}
