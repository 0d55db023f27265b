/**
 * The fake kernel of a simulated agent: a Datapath that programs nothing and reports every
 * port made, and workload namespaces that all exist, each with the identity its path names
 * (`/run/netns/sim-N` is namespace N). The population records the same identity in each
 * endpoint's attachment, so no agent finds a "replaced" namespace and deletes its endpoint.
 */
import type { Datapath, SetResult } from '../../src/datapath/datapath.js';
import type { WorkloadNamespaces } from '../../src/agent/namespaces.js';

export const SIM_NETNS_DEV = 4;

export function simNetnsPath(n: number): string {
  return `/run/netns/sim-${n}`;
}

export function simIdentity(path: string): { dev: number; ino: number } {
  const n = Number(path.slice(path.lastIndexOf('-') + 1));
  return { dev: SIM_NETNS_DEV, ino: Number.isInteger(n) ? n + 1 : 1 };
}

/** What the Agent calls on a Datapath (agent.ts, attach.ts), and nothing more. */
export function fakeDatapath(): Datapath {
  const empty = (): SetResult => ({ failedPorts: new Map(), failedNamespaces: new Map(), changed: [] });
  const fake = { set: async () => empty(), readBackNext: () => {}, ownedIdentities: async () => [] };
  return fake as unknown as Datapath;
}

export function fakeNamespaces(): WorkloadNamespaces {
  return {
    resolve: async (req) => {
      const path = String(req.netns);
      return { path, identity: simIdentity(path) };
    },
    identity: async (path) => simIdentity(path),
  };
}
