/**
 * A recorded attachment is only as good as the namespace still being there (issue #5: the
 * agent once configured eth0 and a default route in a stranger's namespace, after the
 * workload's PID was reused). Before every reconcile, the namespace path of each endpoint
 * of this host (in scope) is read again by identity: only those still naming the recorded
 * namespace enter the plan. The others are never touched, and their endpoints are
 * garbage-collected (deleted, releasing the address); their port's host side goes with the
 * same reconcile, since it is no longer planned.
 *
 * Cost: a few file-system calls per endpoint (stat, statfs, open, fstat, readlink), no
 * process; reads run in parallel.
 */
import type { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import { sameNamespace } from '../datapath/ns-identity.js';
import { isTenetError } from '../model/errors.js';
import { netnsAttachment, type Endpoint } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import type { WorkloadNamespaces } from './namespaces.js';

export interface StaleEndpoint {
  endpoint: Endpoint;
  why: string;
}

/** Endpoints to plan, and those of this host whose namespace is gone or another one now. */
export async function splitByNamespace(
  host: string,
  endpoints: Iterable<Endpoint>,
  namespaces: WorkloadNamespaces,
  tenants?: Set<string>,
): Promise<{ live: Endpoint[]; stale: StaleEndpoint[] }> {
  const all = [...endpoints];
  const checks = await Promise.all(all.map((e) => staleness(host, e, namespaces, tenants)));
  const stale: StaleEndpoint[] = [];
  const live: Endpoint[] = [];
  all.forEach((e, i) => {
    const why = checks[i];
    if (why === undefined) live.push(e);
    else stale.push({ endpoint: e, why });
  });
  return { live, stale };
}

async function staleness(host: string, e: Endpoint, namespaces: WorkloadNamespaces, tenants?: Set<string>): Promise<string | undefined> {
  const a = netnsAttachment(e);
  if (!a || e.host !== host || (tenants && !tenants.has(e.tenant))) return undefined;
  const now = await namespaces.identity(a.netns).catch(() => 'unreadable' as const);
  if (now === 'unreadable') return undefined; // cannot tell: keep it, the next reconcile reads again
  if (!now) return `its namespace ${a.netns} is gone`;
  if (!sameNamespace(now, a.netnsId)) return `${a.netns} now names another namespace (${now.dev}:${now.ino}, attached was ${a.netnsId.dev}:${a.netnsId.ino})`;
  return undefined;
}

/** Deletes the endpoints whose namespace is gone; tombstoned first, as every agent delete. */
export async function collectStale(stale: StaleEndpoint[], cache: ObjectCache, controller: ControllerClient, logger: Logger): Promise<void> {
  for (const { endpoint: e, why } of stale) {
    const undo = cache.forgetLocalEndpoint(e.id, e);
    try {
      await controller.deleteEndpoint(e.id);
      logger.warn({ endpoint: e.id, tenant: e.tenant, ip: e.ip, why }, 'removed an endpoint whose namespace is gone; its namespace was not touched');
    } catch (err) {
      if (isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND') continue;
      undo();
      logger.error({ endpoint: e.id, err: (err as Error).message }, 'could not remove an endpoint whose namespace is gone; retrying on the next reconcile');
    }
  }
}
