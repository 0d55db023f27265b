/**
 * Stores written before ADR 005 (address keys alloc/ip/<network>/<dotted ip> holding an
 * endpoint id, endpoints with netns/ifname and no attachment) are not migrated: Tenet had
 * no release then, and a migration is code that must be kept correct for ever. A controller
 * started on such a store refuses with one clear line instead of serving a half-read model.
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Store } from '../store/types.js';

/** `where` names the store in the message: its data directory, or its etcd address. */
export async function checkStoreFormat(store: Store, where: string): Promise<void> {
  const legacy = await store.list(keys.legacyIps(), undefined, { limit: 1 });
  if (legacy.items.length > 0) {
    throw new TenetError(
      'STORE_INCOMPATIBLE',
      `the store in ${where} was written by a Tenet from before endpoints and attachments were separate (ADR 005) and cannot be read`,
      'remove its endpoints with the old version, or start from an empty store',
    );
  }
}
