/**
 * GET /v1/watch: changes as NDJSON, one api WatchMessage per line, in two forms.
 *
 * `?host=H` (what agents use; ADR 011): H's view (interest.ts) from the fan-out's index as
 * `put` lines, one `synced` line, then only the changes that concern H. A reconnecting agent
 * gets its view again, which is cheap for one host. `&revision=R` (ADR 023): the agent has
 * applied R (from another replica, say), so the view must not be older: the stream waits
 * for this replica's fan-out to reach R, and answers 503 REPLICA_BEHIND if it does not
 * within `catchUpMs` (the agent then tries another replica, or again).
 *
 * `?revision=N` (admin tools, the CLI): every put and delete of an object of a registered
 * kind (model/kinds.ts) after revision N, then live ones. Allocation and other internal keys
 * are filtered out, but their revisions still advance the bookmark revision, so a client
 * resuming from a bookmark skips nothing and re-reads nothing. A compacted start revision
 * gets one `compacted` line and the stream ends; the client then re-lists.
 *
 * Both: a line is encoded once per event for all watchers (watch-lines.ts); a watcher that
 * falls behind the buffer bound is cut off with a `resync` line (watch-writer.ts); when
 * nothing was sent for `bookmarkMs`, a bookmark line says the stream is alive and how far
 * it has got. Streams end when the client disconnects and when the app closes (preClose),
 * so shutting the controller down never hangs on a watcher.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { ROOT } from '../model/keys.js';
import { validateHostName } from '../model/validate.js';
import { CompactedError, type Watch } from '../store/types.js';
import { revisionField } from './body.js';
import type { Fanout } from './fanout.js';
import type { Ctx } from './repo.js';
import { compactedLine, lineOfEvent, syncedLine } from './watch-lines.js';
import { BoundedWriter } from './watch-writer.js';

type WatchQuery = { Querystring: { revision?: string; host?: string } };

export interface WatchOptions {
  bookmarkMs: number;
  bufferBytes: number;
  fanout: Fanout;
  /** How long a host stream resuming from a revision waits for the fan-out to reach it. */
  catchUpMs?: number;
}

export const DEFAULT_CATCH_UP_MS = 10_000;

interface Stream {
  writer: BoundedWriter;
  log: Logger;
  /** Runs when the stream ends, for whatever reason. */
  onEnd(f: () => void): void;
  end(): void;
}

export function watchRoutes(app: FastifyInstance, ctx: Ctx, opts: WatchOptions): void {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  /** Hijacks the reply into an NDJSON stream with a bounded writer and bookmarks. */
  const openStream = (req: FastifyRequest, reply: FastifyReply, fields: Record<string, unknown>, revision: () => number): Stream => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const log = ctx.log.child({ watch: req.id, ...fields });
    const writer = new BoundedWriter(res, opts.bufferBytes, log, revision);
    const timer = setInterval(() => writer.tick(), opts.bookmarkMs);
    const cleanups: (() => void)[] = [];
    const end = () => {
      if (!open.delete(end)) return;
      clearInterval(timer);
      for (const f of cleanups) f();
      writer.end();
      log.debug({ revision: revision() }, 'watch closed');
    };
    open.add(end);
    res.on('close', end);
    res.on('finish', end);
    log.debug({}, 'watch opened');
    return { writer, log, onEnd: (f) => cleanups.push(f), end };
  };

  app.get<WatchQuery>('/v1/watch', async (req, reply) => {
    if (req.query.host !== undefined) {
      const host = validateHostName(req.query.host);
      const applied = req.query.revision === undefined ? 0 : revisionField('revision', req.query.revision);
      await opts.fanout.ready();
      if (!(await opts.fanout.caughtUp(applied, opts.catchUpMs ?? DEFAULT_CATCH_UP_MS))) {
        throw new TenetError('REPLICA_BEHIND', `this controller has followed the store to revision ${opts.fanout.revision} only, and host ${host} has applied ${applied}`, 'the agent tries another replica or again by itself; if it persists, the agent was pointed at controllers of another store');
      }
      followHost(openStream(req, reply, { host }, () => opts.fanout.revision), opts.fanout, host);
      return;
    }
    const after = revisionField('revision', req.query.revision);
    let last = after;
    followStore(openStream(req, reply, { after }, () => last), ctx, after, (r) => (last = Math.max(last, r)));
  });
}

/** The filtered stream: the view, `synced`, then the fan-out's lines for this host. */
function followHost(s: Stream, fanout: Fanout, host: string): void {
  // A stream cut off stops receiving at once, before its socket has drained or died.
  const after = () => void (s.writer.closed && s.end());
  const sub = fanout.subscribe(host, {
    write: (lines) => (s.writer.write(lines), after()),
    cut: (reason) => (s.writer.cut(reason), after()),
  });
  s.onEnd(sub.cancel);
  void s.writer.writeInitial([...sub.lines, syncedLine(sub.revision)]).then(after);
}

/** The unfiltered stream: one store watch of its own, from the requested revision. */
function followStore(s: Stream, ctx: Ctx, after: number, advance: (revision: number) => void): void {
  let watch: Watch | undefined;
  s.onEnd(() => watch?.cancel());
  watch = ctx.store.watch(ROOT, after, {
    onEvents: (events) => {
      const lines: string[] = [];
      for (const e of events) {
        const line = lineOfEvent(e);
        if (line !== null) lines.push(line);
      }
      if (lines.length > 0) s.writer.write(lines);
      advance(events[0]?.kv.modRevision ?? after);
      if (s.writer.closed) s.end();
    },
    onError: (err) => {
      if (err instanceof CompactedError) s.writer.write([compactedLine(err.compacted)]);
      else s.log.error({ err: err.message, stack: err.stack }, 'watch failed');
      s.end();
    },
  });
}
