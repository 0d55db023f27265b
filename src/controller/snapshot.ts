/** Health and the snapshot an agent lists before it watches (DESIGN.md "Controller → agent"). */
import type { FastifyInstance } from 'fastify';
import type { Health, Snapshot } from '../api/types.js';
import { KIND_NAMES, KINDS } from '../model/kinds.js';
import { validateHostName } from '../model/validate.js';
import { CompactedError } from '../store/types.js';
import type { Fanout } from './fanout.js';
import { listObjs, type Ctx } from './repo.js';

type SnapshotQuery = { Querystring: { host?: string } };

/** `?host=H`: only H's view (interest.ts), from the fan-out's index at its revision (ADR 011). */
export function snapshotRoutes(app: FastifyInstance, ctx: Ctx, version: string, fanout: Fanout): void {
  app.get('/v1/health', async (): Promise<Health> => ({ ok: true, role: 'controller', revision: await ctx.store.revision(), version }));
  app.get<SnapshotQuery>('/v1/snapshot', async (req) => {
    if (req.query.host === undefined) return takeSnapshot(ctx);
    const host = validateHostName(req.query.host);
    await fanout.ready();
    return fanout.snapshotOf(host);
  });
}

/**
 * Every list is read at the revision of the first one, so the snapshot is one consistent
 * cut of the store even while writes go on, and a watch from its revision misses nothing.
 */
export async function takeSnapshot(ctx: Ctx): Promise<Snapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await snapshotOnce(ctx);
    } catch (err) {
      // A compaction between the first list and the others: start again at a newer revision.
      if (!(err instanceof CompactedError) || attempt >= 3) throw err;
    }
  }
}

/** One list per kind of the registry (model/kinds.ts), all at the revision of the first. */
async function snapshotOnce(ctx: Ctx): Promise<Snapshot> {
  const [first, ...rest] = KIND_NAMES;
  const head = await listObjs(ctx.store, KINDS[first!].prefix);
  const others = await Promise.all(rest.map((k) => listObjs(ctx.store, KINDS[k].prefix, head.revision)));
  const lists = [head, ...others].map((l, i) => [KIND_NAMES[i]!, l.items] as const);
  return { revision: head.revision, objects: Object.fromEntries(lists) as unknown as Snapshot['objects'] };
}
