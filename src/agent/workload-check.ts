/**
 * A recorded attachment is only as good as the namespace still being there (issue #5: the
 * agent once configured eth0 and a default route in a stranger's namespace, after the
 * workload's PID was reused). Before every reconcile, the namespace path of each endpoint
 * of this host (in scope) is read again by identity: only those still naming the recorded
 * namespace enter the plan. The others are never touched, and their endpoints are
 * garbage-collected (deleted, releasing the address); their port's host side goes with the
 * same reconcile, since it is no longer planned.
 *
 * A path whose identity cannot be read at all is held: kept, never entered, reported as an
 * error (splitByNamespace).
 *
 * Cost: a few file-system calls per local endpoint in scope (stat, statfs, open, fstat,
 * readlink), no process; reads run in parallel. The agent passes only the endpoints of the
 * tenants it reconciles (cache.scopeOf), so an attach checks its tenant's namespaces only.
 */
import type { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import { sameNamespace, type NamespaceIdentity } from '../datapath/ns-identity.js';
import { isTenetError } from '../model/errors.js';
import { netnsAttachment, type Endpoint, type NetnsAttachment } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import type { WorkloadNamespaces } from './namespaces.js';

export interface StaleEndpoint {
  endpoint: Endpoint;
  why: string;
}

/**
 * Endpoints to plan; those of this host whose namespace is gone or another one now (stale);
 * and those whose namespace's identity cannot be read (EACCES, EIO…): `held`, endpoint id →
 * why. A held endpoint stays planned, so its tenant side is kept, but the datapath never
 * enters its namespace (a path we cannot confirm may name anybody's), and its status says why.
 * Deleting it would destroy a workload's network on what may be a passing error.
 */
export async function splitByNamespace(
  host: string,
  endpoints: Iterable<Endpoint>,
  namespaces: WorkloadNamespaces,
  tenants?: Set<string>,
): Promise<{ live: Endpoint[]; stale: StaleEndpoint[]; held: Map<string, string>; checked: number }> {
  const all = [...endpoints];
  let checked = 0;
  const checks = await Promise.all(
    all.map((e) => {
      const check = needsCheck(host, e, tenants);
      if (check) checked++;
      return check ? staleness(check, namespaces) : LIVE;
    }),
  );
  const stale: StaleEndpoint[] = [];
  const live: Endpoint[] = [];
  const held = new Map<string, string>();
  all.forEach((e, i) => {
    const check = checks[i]!;
    if (check.kind === 'stale') stale.push({ endpoint: e, why: check.why });
    else live.push(e);
    if (check.kind === 'held') held.set(e.id, check.why);
  });
  return { live, stale, held, checked };
}

type Check = { kind: 'live' } | { kind: 'stale' | 'held'; why: string };
const LIVE: Check = { kind: 'live' };

/** The namespace attachment to re-read: an endpoint of this host, in scope, bound to a namespace. */
function needsCheck(host: string, e: Endpoint, tenants?: Set<string>): NetnsAttachment | undefined {
  const a = netnsAttachment(e);
  return a && e.host === host && (!tenants || tenants.has(e.tenant)) ? a : undefined;
}

async function staleness(a: NetnsAttachment, namespaces: WorkloadNamespaces): Promise<Check> {
  let now: NamespaceIdentity | undefined;
  try {
    now = await namespaces.identity(a.netns);
  } catch (err) {
    return { kind: 'held', why: `the identity of its namespace ${a.netns} cannot be confirmed (${(err as Error).message}); not touched` };
  }
  if (!now) return { kind: 'stale', why: `its namespace ${a.netns} is gone` };
  if (!sameNamespace(now, a.netnsId)) return { kind: 'stale', why: `${a.netns} now names another namespace (${now.dev}:${now.ino}, attached was ${a.netnsId.dev}:${a.netnsId.ino})` };
  const recreated = await namespaces.recreated?.(a.netns, now);
  return recreated ? { kind: 'stale', why: recreated } : LIVE;
}

/**
 * Deletes the endpoints whose namespace is gone; tombstoned first, as every agent delete.
 * The reason goes with the delete: the controller records it in the same txn (`tenet ep ls --stale`).
 */
export async function collectStale(stale: StaleEndpoint[], cache: ObjectCache, controller: ControllerClient, logger: Logger): Promise<void> {
  for (const { endpoint: e, why } of stale) {
    const undo = cache.forgetLocalEndpoint(e.id, e);
    try {
      await controller.deleteEndpoint(e.id, why);
      logger.warn({ endpoint: e.id, tenant: e.tenant, ip: e.ip, why }, 'removed an endpoint whose namespace is gone; its namespace was not touched');
    } catch (err) {
      if (isTenetError(err) && err.code === 'ENDPOINT_NOT_FOUND') continue;
      undo();
      logger.error({ endpoint: e.id, err: (err as Error).message }, 'could not remove an endpoint whose namespace is gone; retrying on the next reconcile');
    }
  }
}
