/**
 * Test support: workload namespaces over the fake kernel, for agent tests without root. A
 * namespace's identity is the fake kernel's object (fakeIdentity), so one deleted and made
 * again under the same name is another namespace, as the real resolver sees it.
 */
import type { FakeKernel } from '../../datapath/testing/fake-kernel.js';
import { fakeIdentity } from '../../datapath/testing/ownership.js';
import { TenetError } from '../../model/errors.js';
import type { WorkloadNamespaces } from '../namespaces.js';
import { netnsRequestPath } from '../netns-guard.js';

/** `unreadable`: paths whose identity read fails, as a namespace the agent may not enter. */
export function fakeNamespaces(kernel: FakeKernel, unreadable: ReadonlySet<string> = new Set()): WorkloadNamespaces {
  return {
    resolve: async (req) => {
      const path = netnsRequestPath(req);
      const id = fakeIdentity(kernel, path)?.identity;
      if (!id) throw new TenetError('NETNS_NOT_FOUND', `network namespace ${path} does not exist on this host`);
      return { path, identity: id };
    },
    identity: async (path) => {
      if (unreadable.has(path)) throw new Error(`${path}: permission denied`);
      return fakeIdentity(kernel, path)?.identity;
    },
  };
}
