/**
 * The one conformance suite every store backend must pass (STYLE.md, after kine): the whole
 * contract of types.ts, the failures as much as the successes. A backend's test file calls
 * runConformance with a function that opens a fresh, empty store per case:
 *
 *   runConformance('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
 *
 * Give `reopen` when the backend is durable; the suite then closes the store, reopens it and
 * checks that nothing observable changed.
 */
import { describe } from 'node:test';
import type { OpenStore } from './conformance-kit.js';
import { historyCases } from './conformance-history.js';
import { leaseCases } from './conformance-leases.js';
import { leaseRestartCases } from './conformance-leases-restart.js';
import { readCases } from './conformance-reads.js';
import { watchCases } from './conformance-watch.js';
import { writeCases } from './conformance-writes.js';

export type { OpenedStore, OpenStore } from './conformance-kit.js';

export function runConformance(name: string, open: OpenStore): void {
  describe(`store conformance: ${name}`, () => {
    writeCases(open);
    readCases(open);
    watchCases(open);
    historyCases(open);
    leaseCases(open);
    leaseRestartCases(open);
  });
}
