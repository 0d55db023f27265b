/**
 * Listening on a unix socket safely, and parsing host:port.
 *
 * The controller's and the agent's sockets are root shells (issue 5), so:
 * - the socket is bound inside a fresh 0700 directory, given its mode (0600, or 0660 and a
 *   group with --socket-group), then renamed
 *   into place: whatever the umask, nobody can connect before the mode is right;
 * - a path that is there already is removed only if it is a socket nobody answers on (left
 *   by a crashed process); a live socket or anything else is an error, never a deletion;
 * - the directory is made 0755 and must not be writable by others (who could swap the socket).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TenetError } from '../model/errors.js';

export const SOCKET_MODE = 0o600;
/** With --socket-group: root and that group's members (e.g. operators who run the CLI). */
export const GROUP_SOCKET_MODE = 0o660;

export async function listenUnix(app: FastifyInstance, path: string, group?: string): Promise<void> {
  const gid = group === undefined ? undefined : groupId(group);
  const dir = dirname(path);
  ensureRunDir(dir);
  await clearStaleSocket(path);
  const privateDir = mkdtempSync(join(dir, '.sock-'));
  try {
    const tmp = join(privateDir, 's');
    await app.listen({ path: tmp });
    if (gid !== undefined) chownSync(tmp, process.getuid?.() ?? 0, gid);
    chmodSync(tmp, gid === undefined ? SOCKET_MODE : GROUP_SOCKET_MODE);
    renameSync(tmp, path);
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}

/** A group name (from /etc/group) or a numeric gid. */
export function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  let lines: string[] = [];
  try {
    lines = readFileSync('/etc/group', 'utf8').split('\n');
  } catch {
    // no /etc/group: only numeric gids work
  }
  const line = lines.find((l) => l.split(':')[0] === group);
  if (!line) throw new TenetError('BAD_REQUEST', `no group ${JSON.stringify(group)} in /etc/group`, 'create it (groupadd) or give a numeric gid');
  return Number(line.split(':')[2]);
}

/** On shutdown: remove our socket, but never a path that someone replaced with a non-socket. */
export function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}

export function ensureRunDir(dir: string): void {
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755); // the umask may have taken bits away; others need x to reach a 0660 socket
  }
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  const othersMayReplace = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
  if ((st.uid !== uid && st.uid !== 0) || othersMayReplace) {
    throw new TenetError('SOCKET_IN_USE', `${dir} is writable by other users, who could replace the socket`, `make it owned by root and not writable by others (chmod 755 ${dir}), or choose another socket path`);
  }
}

async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new TenetError('SOCKET_IN_USE', `${path} exists and is not a socket; Tenet does not delete it`, 'remove it yourself or choose another socket path');
  if (await answers(path)) throw new TenetError('SOCKET_IN_USE', `another process is serving on ${path}`, 'stop it (is Tenet already running?) or choose another socket path');
  unlinkSync(path);
}

/** Whether something accepts connections on the socket; only a refused connect means stale. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    const done = (live: boolean) => {
      sock.destroy();
      resolve(live);
    };
    sock.once('connect', () => done(true));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
    sock.setTimeout(2000, () => done(true));
  });
}

export function parseHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new TenetError('BAD_REQUEST', `invalid listen address ${text}`, 'use host:port, e.g. 0.0.0.0:7400');
  const host = text.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '127.0.0.1', port };
}
