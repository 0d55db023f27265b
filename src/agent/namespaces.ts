/**
 * The agent's view of workload namespaces, as one interface so unit tests can stand in a
 * fake (STYLE.md: seams are interfaces). `resolve` is the namespace guard's check of an attach
 * request (netns-guard.ts); `identity` re-reads what a recorded path names now, so a
 * reconcile never configures a namespace that is no longer the one attached (a PID reused
 * by an unrelated process, a bind mount re-pointed).
 */
import type { Logger } from '../base/logger.js';
import { NotANamespace } from '../datapath/ns-identity.js';
import { NetnsGuard, namespaceIdentity, type NamespaceIdentity, type NetnsRequest, type ResolvedNamespace } from './netns-guard.js';

export interface WorkloadNamespaces {
  /** The namespace an attach names, checked by the guard, or a catalogued error. */
  resolve(req: NetnsRequest): Promise<ResolvedNamespace>;
  /**
   * What `path` names now; undefined when it names no network namespace any more. Throws
   * when that cannot be told (permission denied, an I/O error): the caller must not enter it.
   */
  identity(path: string): Promise<NamespaceIdentity | undefined>;
}

/** The real one: the guard over the kernel's nsfs. */
export function kernelNamespaces(ownedIdentities: () => Promise<NamespaceIdentity[]>, logger: Logger): WorkloadNamespaces {
  const guard = new NetnsGuard({ ownedIdentities, logger });
  return {
    resolve: (req) => guard.resolve(req),
    identity: async (path) => {
      try {
        return await namespaceIdentity(path);
      } catch (err) {
        if (err instanceof NotANamespace && err.reason !== 'unreadable') return undefined;
        throw err;
      }
    },
  };
}
