/**
 * The agent's view of workload namespaces, as one interface so unit tests can stand in a
 * fake (STYLE.md: seams are interfaces). `resolve` is the namespace guard's check of an attach
 * request (netns-guard.ts); `identity` re-reads what a recorded path names now, so a
 * reconcile never configures a namespace that is no longer the one attached (a PID reused
 * by an unrelated process, a bind mount re-pointed).
 *
 * `recreated` closes the one gap identity leaves: namespace inode numbers are recycled at once
 * (ADR 007), so `ip netns del X; ip netns add X` can give the new X the old dev:ino. For a
 * bind-mounted namespace (any path outside /proc) the nsfs inode's change time, pinned by the
 * mount, tells them apart: the real one learns it when an attach resolves the path and
 * compares it on every check. /proc/PID/ns/net is not pinned (its nsfs inode, and ctime, may
 * be made again for the same namespace), so it relies on dev:ino, which two live namespaces
 * never share. Learnt in memory: an agent restarted after the name was re-made with a
 * recycled inode learns nothing for it (ADR 017, residual).
 */
import type { Logger } from '../base/logger.js';
import { NotANamespace, identityText, namespaceMark } from '../datapath/ns-identity.js';
import { NetnsGuard, namespaceIdentity, type NamespaceIdentity, type NetnsRequest, type ResolvedNamespace } from './netns-guard.js';

export interface WorkloadNamespaces {
  /** The namespace an attach names, checked by the guard, or a catalogued error. */
  resolve(req: NetnsRequest): Promise<ResolvedNamespace>;
  /**
   * What `path` names now; undefined when it names no network namespace any more. Throws
   * when that cannot be told (permission denied, an I/O error): the caller must not enter it.
   */
  identity(path: string): Promise<NamespaceIdentity | undefined>;
  /** Why `path`, still reading as `id`, is another namespace than the one attached (a recycled inode); undefined when it is not known to be. */
  recreated?(path: string, id: NamespaceIdentity): Promise<string | undefined>;
  /** Forget what was learnt about paths no endpoint names any more (bounds the memory). */
  retain?(paths: Set<string>): void;
}

/** The real one: the guard over the kernel's nsfs. */
export function kernelNamespaces(ownedIdentities: () => Promise<NamespaceIdentity[]>, logger: Logger): WorkloadNamespaces {
  const guard = new NetnsGuard({ ownedIdentities, logger });
  const marks = new BindMountMarks();
  return {
    resolve: async (req) => {
      const resolved = await guard.resolve(req);
      await marks.learn(resolved.path, resolved.identity);
      return resolved;
    },
    identity: async (path) => {
      try {
        return await namespaceIdentity(path);
      } catch (err) {
        if (err instanceof NotANamespace && err.reason !== 'unreadable') return undefined;
        throw err;
      }
    },
    recreated: (path, id) => marks.recreated(path, id),
    retain: (paths) => marks.retain(paths),
  };
}

/** A mark learnt this recently is kept by retain(): its attach may not be in the cache yet. */
const LEARNING_MS = 60_000;

/** path → dev:ino:ctime of the namespace attached there (bind mounts only). */
class BindMountMarks {
  private readonly marks = new Map<string, string>();
  private readonly learntAt = new Map<string, number>();

  async learn(path: string, identity: NamespaceIdentity): Promise<void> {
    if (path.startsWith('/proc/')) return;
    const now = await namespaceMark(path).catch(() => undefined);
    if (!now || identityText(now.identity) !== identityText(identity)) return;
    this.marks.set(path, now.mark);
    this.learntAt.set(path, Date.now());
  }

  async recreated(path: string, id: NamespaceIdentity): Promise<string | undefined> {
    const known = this.marks.get(path);
    if (!known?.startsWith(`${identityText(id)}:`)) return undefined; // unknown, or another dev:ino (identity tells that)
    const now = await namespaceMark(path).catch(() => undefined);
    if (!now || now.mark === known) return undefined;
    return `${path} was made again: another namespace with the recycled inode number ${identityText(id)} (made at ${madeAt(now.mark)}, the attached one at ${madeAt(known)})`;
  }

  retain(paths: Set<string>): void {
    const recent = Date.now() - LEARNING_MS;
    for (const p of this.marks.keys()) {
      if (paths.has(p) || (this.learntAt.get(p) ?? 0) > recent) continue;
      this.marks.delete(p);
      this.learntAt.delete(p);
    }
  }
}

/** The ctime (ns) of a mark as an ISO time. */
const madeAt = (mark: string): string => new Date(Number(BigInt(mark.split(':')[2] ?? '0') / 1_000_000n)).toISOString();
