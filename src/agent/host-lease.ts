/**
 * The agent's side of host liveness (controller/liveness.ts): register once, then keep the
 * lease the controller granted alive every third of its TTL. A keep-alive writes nothing to
 * the store, so no other agent hears of it. When the controller says the lease is gone
 * (LEASE_EXPIRED: the agent was silent too long, the controller restarted on a memory store,
 * or an operator deleted the host) or the host is unknown, the agent registers again at once.
 */
import type { ControllerClient } from '../api/client.js';
import type { HostLease, RegisterHostRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { isTenetError } from '../model/errors.js';

export interface HostLeaseOptions {
  host: string;
  controller: ControllerClient;
  logger: Logger;
  /** What the agent registers (its underlay); read at each registration. */
  registration: () => RegisterHostRequest;
  /** After each successful registration (the agent reports its realized revision again). */
  onRegistered?: () => void;
  /** Keep-alive period; default a third of the lease's TTL. */
  intervalMs?: number;
}

export class HostLeaseKeeper {
  lease?: HostLease;
  /** Registrations made (the first one and every renewal after a lost lease). */
  registrations = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: HostLeaseOptions) {}

  async register(): Promise<HostLease> {
    const { host, controller } = this.opts;
    const { lease } = await controller.registerHost(host, this.opts.registration());
    this.lease = lease;
    this.registrations++;
    this.opts.onRegistered?.();
    return lease;
  }

  /** Starts keeping the lease alive (after the first register()). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One keep-alive now (tests call it; the timer does otherwise). */
  async beat(): Promise<void> {
    const { host, controller, logger } = this.opts;
    if (!this.lease) {
      await this.register();
      return;
    }
    try {
      await controller.heartbeat(host, this.lease.id);
    } catch (err) {
      if (!isTenetError(err) || (err.code !== 'LEASE_EXPIRED' && err.code !== 'HOST_NOT_FOUND')) throw err;
      logger.warn({ lease: this.lease.id, code: err.code }, "the controller no longer holds this host's lease: registering again");
      await this.register();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = this.opts.intervalMs ?? Math.max(1, Math.floor((this.lease?.ttlMs ?? 30_000) / 3));
    this.timer = setTimeout(() => {
      this.beat()
        .catch((err) => this.opts.logger.warn({ err: (err as Error).message }, 'heartbeat failed; retrying at the next one'))
        .finally(() => this.schedule());
    }, every);
    this.timer.unref?.();
  }
}
