/**
 * Secret files: the controller's admin token and keys, an agent's host credential. Written
 * 0600 through a temporary file and a rename, so a crash never leaves half a secret and no
 * moment exists where the file is readable by others (the mode is given at creation, and
 * set again in case a umask or an old file got in the way).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatAdminToken, parseBearer } from '../api/credentials.js';
import { TenetError } from '../model/errors.js';

export function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The admin token in DATA_DIR/admin.token, made on first use. */
export function ensureAdminToken(dataDir: string): { token: string; secret: string; path: string } {
  const path = join(dataDir, 'admin.token');
  if (!existsSync(path)) writeSecretFile(path, `${formatAdminToken(randomBytes(32).toString('hex'))}\n`);
  const token = readFileSync(path, 'utf8').trim();
  const bearer = parseBearer(token);
  if (bearer?.kind !== 'admin') throw new TenetError('TLS_SETUP_FAILED', `${path} does not hold an admin token`, 'move it away: the next start makes a new one');
  return { token, secret: bearer.secret, path };
}
