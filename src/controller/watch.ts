/**
 * GET /v1/watch?revision=N: every put and delete of an object of a registered kind
 * (model/kinds.ts) after revision N, as NDJSON (one api WatchMessage per line), then live ones. Allocation
 * and other internal keys are filtered out, but their revisions still advance the bookmark
 * revision, so a client resuming from a bookmark skips nothing and re-reads nothing.
 *
 * When nothing was sent for `bookmarkMs`, a bookmark line says the stream is alive and how
 * far it has got. A compacted start revision gets one `compacted` line and the stream ends;
 * the client then re-lists (GET /v1/snapshot). Streams end when the client disconnects and
 * when the app closes (preClose), so shutting the controller down never hangs on a watcher.
 */
import type { FastifyInstance } from 'fastify';
import type { WatchMessage } from '../api/types.js';
import { kindOfKey, ROOT } from '../model/keys.js';
import type { AnyObject } from '../model/types.js';
import { CompactedError, type Watch, type WatchEvent } from '../store/types.js';
import { revisionField } from './body.js';
import type { Ctx } from './repo.js';

type WatchQuery = { Querystring: { revision?: string } };

export function watchRoutes(app: FastifyInstance, ctx: Ctx, bookmarkMs: number): void {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<WatchQuery>('/v1/watch', async (req, reply) => {
    const after = revisionField('revision', req.query.revision);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const log = ctx.log.child({ watch: req.id, after });
    let last = after;
    let sentSinceTick = false;
    let watch: Watch | undefined;
    const send = (m: WatchMessage) => {
      res.write(`${JSON.stringify(m)}\n`);
      sentSinceTick = true;
    };
    const timer = setInterval(() => {
      if (!sentSinceTick) send({ type: 'bookmark', revision: last });
      sentSinceTick = false;
    }, bookmarkMs);
    const end = () => {
      if (!open.delete(end)) return;
      clearInterval(timer);
      watch?.cancel();
      res.end();
      log.debug({ last }, 'watch closed');
    };
    open.add(end);
    res.on('close', end);
    log.debug({}, 'watch opened');
    watch = ctx.store.watch(ROOT, after, {
      onEvents: (events) => {
        try {
          for (const m of toMessages(events)) send(m);
          last = Math.max(last, events[0]?.kv.modRevision ?? last);
        } catch (err) {
          // A value that is not JSON is a bug elsewhere; end this stream, not the process.
          log.error({ err: String(err), stack: (err as Error).stack }, 'watch failed');
          end();
        }
      },
      onError: (err) => {
        if (err instanceof CompactedError) send({ type: 'compacted', revision: err.compacted });
        else log.error({ err: err.message, stack: err.stack }, 'watch failed');
        end();
      },
    });
  });
}

export function toMessages(events: WatchEvent[]): WatchMessage[] {
  const out: WatchMessage[] = [];
  for (const e of events) {
    const kind = kindOfKey(e.kv.key);
    const value = e.type === 'put' ? e.kv.value : e.prevKv?.value;
    if (!kind || value === undefined) continue;
    out.push({ type: e.type, kind, revision: e.kv.modRevision, object: JSON.parse(value) as AnyObject });
  }
  return out;
}
