/**
 * The Docker plugin endpoint: dockerd POSTs `/<Subsystem>.<Method>` with a JSON body (empty
 * for argument-less methods, no content type) and wants JSON back, always (an empty answer
 * is a decode error in dockerd). Failures go out as HTTP 500 with `{"Err": "..."}`, which
 * both the network driver and the IPAM sides of dockerd show to the user (protocols.md §1.5).
 *
 * Every handler runs under a deadline: dockerd sets no timeout of its own for legacy plugins,
 * so a handler that hung would hang the docker command (and locks inside dockerd) for ever.
 */
import http from 'node:http';
import type { Logger } from '../base/logger.js';
import { asTenetError } from '../model/errors.js';

export type Handler = (body: Record<string, unknown>) => Promise<unknown> | unknown;

/** Bodies dockerd sends are small; anything larger is not dockerd. */
const MAX_BODY = 1 << 20;
export const HANDLER_DEADLINE_MS = 25_000;

export function pluginServer(handlers: Record<string, Handler>, logger: Logger, deadlineMs = HANDLER_DEADLINE_MS): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const handler = handlers[path];
      if (!handler) return answer(res, 404, { Err: `${path} is not implemented by the tenet plugin` });
      if (size > MAX_BODY) return answer(res, 500, { Err: 'request body too large' });
      void run(path, handler, parseBody(Buffer.concat(chunks).toString('utf8')), logger, deadlineMs).then(([status, body]) => answer(res, status, body));
    });
  });
}

async function run(path: string, handler: Handler, body: Record<string, unknown>, logger: Logger, deadlineMs: number): Promise<[number, unknown]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the tenet plugin did not finish ${path} within ${deadlineMs / 1000} s: check that the Tenet agent reaches its controller (tenet host ls), then retry`)), deadlineMs);
  });
  const started = performance.now();
  try {
    const out = await Promise.race([Promise.resolve().then(() => handler(body)), deadline]);
    // The time each call takes is what `docker run` waits for (bench/docker-run.ts reads it).
    logger.debug({ call: path, ms: Math.round((performance.now() - started) * 10) / 10 }, 'docker plugin call');
    return [200, out ?? {}];
  } catch (err) {
    // A TenetError's message says what to do; anything else is shown as the bug it is.
    const message = err instanceof Error && !(err instanceof TypeError) ? err.message : asTenetError(err).message;
    logger.warn({ call: path, err: message }, 'docker plugin call refused');
    return [500, { Err: message }];
  } finally {
    clearTimeout(timer);
  }
}

/** dockerd sends nothing (argument-less methods), `{}`, or JSON with null maps: all are objects here. */
export function parseBody(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/vnd.docker.plugins.v1.2+json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
