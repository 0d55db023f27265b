/** Listening on a unix socket (replacing a stale one) and on host:port. */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';

export async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  rmSync(path, { force: true }); // a socket left by a crashed process would make listen fail
  await app.listen({ path });
}

export function parseHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid listen address ${text}: use host:port`);
  return { host: text.slice(0, i) || '127.0.0.1', port };
}
