/**
 * etcd leases as the store contract's leases (ADR 021). etcd counts a TTL in whole seconds
 * with a minimum (1.5 election timeouts; 2 s with etcd's defaults): a TTL is rounded up to a
 * whole second and the lease's `ttlMs` is what etcd granted. etcd also reports the time left
 * in whole seconds, rounded down; timeToLive gives the middle of that second (never more
 * than the TTL). Lease ids are chosen here, at random below 2^53, because etcd's own ids do
 * not fit a JavaScript number; etcd refuses an id in use, and grant then draws again.
 */
import { randomInt } from 'node:crypto';
import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { etcdMessages, hasMessage } from './etcd-codec.js';
import { checkTtl } from './lessor.js';
import type { Lease } from './types.js';

const MAX_ID = 2 ** 48; // randomInt's limit; ample against collisions
const KEEPALIVE_TIMEOUT_MS = 5000;

export class EtcdLeases {
  constructor(private readonly client: Etcd3) {}

  async grant(ttlMs: number): Promise<Lease> {
    checkTtl(ttlMs);
    for (;;) {
      const id = randomInt(1, MAX_ID);
      try {
        const res = await this.client.leaseClient.leaseGrant({ ID: id, TTL: Math.ceil(ttlMs / 1000) });
        return { id, ttlMs: Number(res.TTL) * 1000 };
      } catch (err) {
        if (!hasMessage(err, etcdMessages.leaseExists)) throw err;
      }
    }
  }

  /** etcd's keep-alive stream, for one renewal; etcd answers TTL 0 for an ended lease. */
  async keepAlive(id: number): Promise<boolean> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      const res = await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`etcd did not answer a lease keep-alive within ${KEEPALIVE_TIMEOUT_MS} ms`)), KEEPALIVE_TIMEOUT_MS);
        stream.on('data', (r: ILeaseKeepAliveResponse) => {
          clearTimeout(timer);
          resolve(r);
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.write({ ID: id });
      });
      return Number(res.TTL) > 0;
    } finally {
      stream.on('error', () => {});
      stream.cancel();
    }
  }

  async revoke(id: number): Promise<boolean> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id });
      return true;
    } catch (err) {
      if (hasMessage(err, etcdMessages.leaseNotFound)) return false;
      throw err;
    }
  }

  async timeToLive(id: number): Promise<number | undefined> {
    try {
      const res = await this.client.leaseClient.leaseTimeToLive({ ID: id });
      const left = Number(res.TTL);
      if (left < 0) return undefined;
      return Math.min(left * 1000 + 500, Number(res.grantedTTL) * 1000);
    } catch (err) {
      if (hasMessage(err, etcdMessages.leaseNotFound)) return undefined;
      throw err;
    }
  }
}
