/**
 * The ifindex of each Tenet bridge, per tenant namespace: what makes a port in one process
 * (port-create.ts, ADR 025 addendum). A veth made from the workload's side (or the agent's)
 * with `netns TENANT master "if N"` is put on the bridge by the kernel in the tenant
 * namespace, by index; the name of the bridge means nothing in the namespace `ip` runs in
 * (and in a workload's, which is the user's, it could name anything).
 *
 * Where an index comes from: a read-back of the tenant namespace (observe.ts records every
 * bridge's), or one `ip -n NS -j link show type bridge` when a port needs a bridge whose
 * index is not known (the first port after the bridge was made). What makes it stale: the
 * bridge made again (forgotten when a diff creates or deletes it, when the namespace is made
 * or removed, and after any failure in the namespace). A stale index cannot put a port on
 * another device: ifindexes are allocated cyclically per namespace (Linux ≥ 6.6:
 * xa_alloc_cyclic; before, a counter that only grows), so a deleted bridge's index is not
 * given to a new device before 2^31 others; a missing index makes the kernel refuse the whole
 * `link add` (EINVAL), which fails the port and is rolled back like any refusal.
 */
import type { TenantSteps } from './diff.js';
import { isBridge } from './names.js';
import { parseLinkIndexes } from './observe.js';
import type { CommandRunner } from './runner.js';

export class BridgeIndexes {
  private readonly byNs = new Map<string, Map<string, number>>();

  constructor(private readonly runner: CommandRunner) {}

  /** What a read-back saw (observe.ts), before any step of the same set() changes it. */
  learn(ns: string, indexes: ReadonlyMap<string, number> | undefined): void {
    if (indexes) this.byNs.set(ns, new Map(indexes));
  }

  forget(ns: string): void {
    this.byNs.delete(ns);
  }

  /** Bridges these steps create or delete are made again: their old index is no longer theirs. */
  forgetRemade(steps: TenantSteps): void {
    const known = this.byNs.get(steps.ns);
    if (!known) return;
    if (steps.createNs) return this.forget(steps.ns);
    for (const line of [...steps.cleanup, ...steps.tenant]) {
      const name = /^link (?:add|del) (\S+)/.exec(line)?.[1];
      if (name !== undefined && isBridge(name)) known.delete(name);
    }
  }

  /** The index of each bridge in `bridges`, reading the namespace once if one is not known; undefined for a bridge that is not there. */
  async of(ns: string, bridges: Iterable<string>): Promise<Map<string, number>> {
    const wanted = [...new Set(bridges)];
    let known = this.byNs.get(ns);
    if (!known || wanted.some((b) => !known!.has(b))) {
      const r = await this.runner.run(['ip', '-n', ns, '-j', 'link', 'show', 'type', 'bridge']);
      known = new Map([...parseLinkIndexes(r.stdout)].filter(([name]) => isBridge(name)));
      this.byNs.set(ns, known);
    }
    return new Map(wanted.flatMap((b) => (known!.has(b) ? [[b, known!.get(b)!] as const] : [])));
  }
}
