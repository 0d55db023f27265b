/**
 * Which namespace an attach may touch (issue #5). A caller names it by path, by name
 * (/run/netns/NAME) or by PID (/proc/PID/ns/net); before this guard, any existing path was
 * accepted, so `--netns /proc/1/ns/net` configured eth0 and a default route in the host's
 * own namespace, and a tenant namespace or a lab host could be attached into.
 *
 * The guard checks, in order: the types and the path rule (no kernel involved, so a
 * `"netns": 5` or a path with a newline is a BAD_REQUEST before anything else runs); that
 * the path is a network namespace (ns-identity.ts: a regular file is NETNS_NOT_FOUND, not a
 * DATAPATH_FAILED later); and that it is none of the host's (PID 1's), the agent's own, or
 * one Tenet made (ownership.ts). The last three compare identities (st_dev + st_ino of the
 * nsfs file), never paths: a bind mount or /proc/PID/ns/net of a process inside one of them
 * names the same namespace. The resolved identity is returned so the agent can record it and
 * check it again later (sameNamespace), e.g. after a PID was reused.
 */
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { quoteValue, validateNetns } from '../model/validate.js';
import { namespaceIdentity, NotANamespace, sameNamespace, type NamespaceIdentity } from '../datapath/ns-identity.js';

export { namespaceIdentity, sameNamespace, type NamespaceIdentity };

export interface NetnsRequest {
  netns?: unknown;
  pid?: unknown;
}

export interface ResolvedNamespace {
  path: string;
  identity: NamespaceIdentity;
}

export interface GuardOptions {
  /** Identities of the namespaces Tenet made (Datapath.ownedIdentities, the lab's). */
  ownedIdentities: () => Promise<NamespaceIdentity[]>;
  /** The host's namespace; PID 1's unless a test stands in another. */
  hostPath?: string;
  /** The agent's own namespace. */
  selfPath?: string;
  logger?: Logger;
}

const absent = (v: unknown): boolean => v === undefined || v === null || v === '';

/**
 * The path a request names, checking only types and the path rule (no file system): the
 * agent API runs it on every attach body, so a mistyped field is a 400, never a 500.
 */
export function netnsRequestPath(req: NetnsRequest): string {
  if (absent(req.netns) === absent(req.pid)) {
    throw new TenetError('BAD_REQUEST', 'say which namespace to attach', 'give exactly one of --netns PATH or --pid PID');
  }
  if (absent(req.netns)) {
    const pid = req.pid;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
      throw new TenetError('BAD_REQUEST', `invalid pid ${quoteValue(pid)}`, 'give the process id of a running process, a whole number');
    }
    return `/proc/${pid}/ns/net`;
  }
  return validateNetns(req.netns);
}

export class NetnsGuard {
  private readonly hostPath: string;
  private readonly selfPath: string;

  constructor(private readonly opts: GuardOptions) {
    this.hostPath = opts.hostPath ?? '/proc/1/ns/net';
    this.selfPath = opts.selfPath ?? '/proc/self/ns/net';
  }

  /** The namespace a request names and its identity, or a catalogued error. */
  async resolve(req: NetnsRequest): Promise<ResolvedNamespace> {
    const path = netnsRequestPath(req);
    const identity = await identityOf(path);
    await this.refuseForbidden(path, identity);
    return { path, identity };
  }

  /** Throws NETNS_FORBIDDEN when `identity` is the host's, the agent's or one Tenet made. */
  async refuseForbidden(path: string, identity: NamespaceIdentity): Promise<void> {
    const [host, self, owned] = await Promise.all([this.optionalIdentity(this.hostPath), this.optionalIdentity(this.selfPath), this.opts.ownedIdentities()]);
    const fix = "attach a workload's own namespace (ip netns add NAME, or a container's /proc/PID/ns/net)";
    if (sameNamespace(identity, host)) throw new TenetError('NETNS_FORBIDDEN', `${path} is the host's own network namespace`, fix);
    if (sameNamespace(identity, self)) throw new TenetError('NETNS_FORBIDDEN', `${path} is the agent's own network namespace`, fix);
    if (owned.some((o) => sameNamespace(identity, o))) {
      throw new TenetError('NETNS_FORBIDDEN', `${path} is a namespace Tenet made (a tenant namespace, a lab host or the lab underlay)`, fix);
    }
  }

  /**
   * PID 1's namespace can be unreadable (a container without CAP_SYS_PTRACE over PID 1);
   * then that one comparison is skipped, and said so: the agent's own is still compared.
   */
  private async optionalIdentity(path: string): Promise<NamespaceIdentity | undefined> {
    try {
      return await namespaceIdentity(path);
    } catch (err) {
      this.opts.logger?.debug({ path, err: (err as Error).message }, 'namespace identity unreadable; not compared');
      return undefined;
    }
  }
}

async function identityOf(path: string): Promise<NamespaceIdentity> {
  try {
    return await namespaceIdentity(path);
  } catch (err) {
    if (!(err instanceof NotANamespace)) throw err;
    const fix = 'give a live network namespace: ip netns list, /run/netns/NAME or /proc/PID/ns/net';
    if (err.reason === 'missing') throw new TenetError('NETNS_NOT_FOUND', `network namespace ${path} does not exist on this host`, fix);
    if (err.reason === 'unreadable') throw new TenetError('NETNS_NOT_FOUND', `network namespace ${path} cannot be opened by the agent`, fix);
    throw new TenetError('NETNS_NOT_FOUND', `${path} is not a network namespace (${err.message.slice(path.length + 2)})`, fix);
  }
}
