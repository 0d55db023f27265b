/**
 * Leader election of controller replicas on the store contract (ADR 022): the replicas are
 * interchangeable for the API, but a few chores must run once cluster-wide (compaction, the
 * garbage collection of allocations), and those run on the elected leader only.
 *
 * Each replica holds one lease of a few seconds that it keeps alive, and binds to it:
 * - its registration, status/controllers/<id> (id, URLs, version, start time), which
 *   `tenet status` lists: a replica that dies vanishes from the list with its lease;
 * - the leader key, status/leader, written create-if-absent with the replica's id: exactly
 *   one replica's create succeeds. When the leader's lease ends the store deletes the key
 *   (a delete event); the others, watching it, race to create it again.
 *
 * The lease is the fence. A replica whose keep-alive answers "ended" steps down at once and
 * campaigns again with a new lease; one that cannot reach the store stops its leader work
 * before its lease can have ended at the store (one keep-alive interval short of the TTL),
 * so an old leader cut off by a partition has stopped by the time a new one can be elected.
 * Whatever is still in flight then is harmless twice: GC deletes compare the revision they
 * read, and compaction to an older revision is a no-op.
 *
 * Everything lives under status/, which is no object kind: watches never carry it to agents.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../base/logger.js';
import { ROOT } from '../model/keys.js';
import { LeaseNotFoundError, type Store, type Watch, type WatchEvent } from '../store/types.js';

/** A dead leader is replaced within about this long (etcd rounds TTLs up to whole seconds). */
export const DEFAULT_LEADER_TTL_MS = 5_000;
/** Five keep-alives per TTL: a leader steps down when four in a row fail (the fence). */
export const DEFAULT_LEADER_KEEPALIVE_MS = DEFAULT_LEADER_TTL_MS / 5;

export const leaderKeys = {
  /** Holds the leader's id, bound to the leader's lease. */
  leader: () => `${ROOT}status/leader`,
  controller: (id: string) => `${ROOT}status/controllers/${id}`,
  controllers: () => `${ROOT}status/controllers/`,
};

/** A replica's registration (the value of its status/controllers/ key). */
export interface ControllerRecord {
  id: string;
  /** Where its API answers: https://host:port and/or unix:/path. */
  urls: string[];
  version: string;
  startedAt: string;
}

/** Work that runs on the leader only: started when elected, stopped when demoted. */
export type LeaderTask = () => { stop(): void | Promise<void> };

export interface LeaderOptions {
  store: Store;
  logger: Logger;
  record: ControllerRecord;
  tasks: LeaderTask[];
  ttlMs?: number;
  keepAliveMs?: number;
}

/** Readable and unique even across a restart that reuses the pid: host:pid:random. */
export function newControllerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const now = (): number => performance.now();

export class LeaderElection {
  readonly id: string;
  private readonly ttlMs: number;
  private readonly keepAliveMs: number;
  private lease: number | undefined;
  /** When the last keep-alive that succeeded was sent: the store ends the lease no sooner than a TTL after. */
  private confirmedAt = 0;
  private leading = false;
  private running: { stop(): void | Promise<void> }[] = [];
  private watch: Watch | undefined;
  private knownLeader: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastError = '';

  constructor(private readonly opts: LeaderOptions) {
    this.id = opts.record.id;
    this.ttlMs = opts.ttlMs ?? DEFAULT_LEADER_TTL_MS;
    this.keepAliveMs = opts.keepAliveMs ?? Math.max(1, Math.floor(this.ttlMs / 5)); // DEFAULT_LEADER_KEEPALIVE_MS for the default TTL
    checkTimes(this.ttlMs, this.keepAliveMs);
  }

  /** Registers and campaigns; resolves after the first round (leader or not, or the store down). */
  async start(): Promise<void> {
    this.timer = setInterval(() => this.kick(), this.keepAliveMs);
    this.timer.unref();
    this.kick();
    await this.busy;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The leader as this replica last saw it (undefined: none known). */
  leader(): string | undefined {
    return this.leading ? this.id : this.knownLeader;
  }

  /** Resigns: stops the leader work and revokes the lease, so another replica leads at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.fenceTimer);
    this.watch?.cancel();
    await this.busy?.catch(() => undefined);
    await this.demote('shutting down');
    if (this.lease !== undefined) await this.opts.store.revoke(this.lease).catch(() => false);
    this.lease = undefined;
  }

  /** Runs a round now, or once more after the one under way (never two at once). */
  private kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && !this.stopped);
    })().finally(() => (this.busy = undefined));
  }

  private async round(): Promise<void> {
    try {
      if (this.lease === undefined || !(await this.renew())) await this.join();
      await this.campaign();
      if (this.lastError) this.opts.logger.info({ controller: this.id }, 'leader election: the store answers again');
      this.lastError = '';
    } catch (err) {
      if (err instanceof LeaseNotFoundError) this.lease = undefined;
      const message = (err as Error).message;
      if (message !== this.lastError) this.opts.logger.warn({ controller: this.id, err: message }, 'leader election: store call failed; retrying');
      this.lastError = message;
    }
  }

  /** Keeps the lease alive; false (after stepping down) when it has ended. */
  private async renew(): Promise<boolean> {
    const sentAt = now();
    if (await this.opts.store.keepAlive(this.lease!)) {
      this.confirmed(sentAt);
      return true;
    }
    this.opts.logger.warn({ controller: this.id, lease: this.lease }, 'controller lease ended; registering and campaigning again');
    this.lease = undefined;
    await this.demote('its lease ended');
    return false;
  }

  /** A new lease, and the registration bound to it. */
  private async join(): Promise<void> {
    const sentAt = now();
    const lease = await this.opts.store.grant(this.ttlMs);
    this.lease = lease.id;
    this.confirmed(sentAt);
    const { record, store } = this.opts;
    await store.txn([], [{ type: 'put', key: leaderKeys.controller(this.id), value: JSON.stringify(record), lease: lease.id }]);
    this.opts.logger.info({ controller: this.id, lease: lease.id, ttlMs: this.ttlMs, urls: record.urls }, 'controller registered');
  }

  private async campaign(): Promise<void> {
    const { store } = this.opts;
    if (!this.leading) {
      const res = await store.create(leaderKeys.leader(), this.id, this.lease);
      if (res.ok) return this.elect('elected leader');
      this.watchLeader(res.revision);
    }
    const holder = (await store.get(leaderKeys.leader()))?.value;
    // Still ours after a step-down by the fence: the lease never ended, so nobody else could lead.
    if (holder === this.id) return this.leading ? undefined : this.elect('leading again (the lease held)');
    if (this.leading) await this.demote(`the leader key now names ${holder ?? 'nobody'}`);
    this.observe(holder);
  }

  private elect(what: string): void {
    if (this.stopped) return;
    this.leading = true;
    this.knownLeader = this.id;
    this.running = this.opts.tasks.map((start) => start());
    this.opts.logger.info({ controller: this.id, lease: this.lease }, `${what}: leader-only work started`);
  }

  private async demote(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.knownLeader = undefined;
    const tasks = this.running;
    this.running = [];
    this.opts.logger.warn({ controller: this.id, why }, 'stepped down as leader: leader-only work stopped');
    for (const t of tasks) await Promise.resolve(t.stop()).catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'leader task did not stop cleanly'));
  }

  /**
   * The store ends the lease no sooner than a TTL after `sentAt` (when the keep-alive it
   * answered was sent): unless another keep-alive is confirmed, step down one keep-alive
   * interval before that (a partition: another replica may be elected once it has ended).
   */
  private confirmed(sentAt: number): void {
    this.confirmedAt = sentAt;
    this.armFence();
  }

  private armFence(): void {
    clearTimeout(this.fenceTimer);
    const left = this.confirmedAt + this.ttlMs - this.keepAliveMs - now();
    if (left > 0) {
      // Timers may fire a little early by the monotonic clock: then this arms again for the rest.
      this.fenceTimer = setTimeout(() => this.armFence(), Math.ceil(left));
      this.fenceTimer.unref();
    } else if (this.leading) {
      void this.demote('its lease could not be renewed in time: another replica may be elected');
    }
  }

  private observe(leader: string | undefined): void {
    if (leader === this.knownLeader || leader === this.id) return;
    this.knownLeader = leader;
    this.opts.logger.info({ controller: this.id, leader: leader ?? null }, leader ? 'following leader' : 'no leader: campaigning');
  }

  /** Watches the leader key from `revision` on: its deletion starts a campaign at once. */
  private watchLeader(revision: number): void {
    if (this.watch || this.stopped) return;
    this.watch = this.opts.store.watch(leaderKeys.leader(), revision, {
      onEvents: (events) => this.onLeaderEvents(events),
      onError: (err) => {
        this.watch = undefined; // the next round watches again from where it reads
        this.opts.logger.debug({ err: err.message }, 'leader key watch ended');
      },
    });
  }

  private onLeaderEvents(events: WatchEvent[]): void {
    for (const e of events.filter((e) => e.kv.key === leaderKeys.leader())) {
      if (e.type === 'delete') {
        if (this.leading) void this.demote('the leader key was deleted');
        this.observe(undefined);
        this.kick();
      } else if (e.kv.value !== this.id) {
        if (this.leading) void this.demote(`the leader key now names ${e.kv.value}`);
        this.observe(e.kv.value);
      }
    }
  }
}

function checkTimes(ttlMs: number, keepAliveMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`leader lease TTL must be a positive number of milliseconds, not ${ttlMs}`);
  if (!Number.isFinite(keepAliveMs) || keepAliveMs <= 0 || keepAliveMs * 2 > ttlMs) {
    throw new RangeError(`leader keep-alive interval must be positive and at most half the TTL (${ttlMs} ms), not ${keepAliveMs}`);
  }
}
