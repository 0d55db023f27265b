/**
 * A network namespace's identity: the device and inode of its nsfs file, the same for every
 * path that names it (/run/netns/NAME, a bind mount of it, /proc/PID/ns/net of any process
 * inside). Issue #5: Tenet compared paths, so `/proc/1/ns/net` or a bind mount of a tenant
 * namespace got past every check. Identities are compared instead, and read so that a path
 * that is not a network namespace is told apart from one that does not exist.
 *
 * How: stat (must be a regular nsfs file; FIFOs and devices are never opened), statfs (type
 * NSFS_MAGIC), then open it and read /proc/self/fd/N, which the kernel spells "net:[INODE]"
 * for a network namespace and "uts:[…]", "mnt:[…]" for the other kinds. A bind mount
 * (/run/netns/NAME) reads as its mount point instead; its kind is then the root of that
 * mount in /proc/self/mountinfo ("net:[INODE]"). fstat on the same descriptor gives the
 * identity of what was checked, not of whatever the path names later.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, statfsSync, statSync, type BigIntStats } from 'node:fs';

export const NSFS_MAGIC = 0x6e736673;

export interface NamespaceIdentity {
  dev: number;
  ino: number;
}

/** Why a path is not a readable network namespace: it is missing, or it is something else. */
export class NotANamespace extends Error {
  constructor(readonly path: string, readonly reason: 'missing' | 'not-netns' | 'unreadable', detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'NotANamespace';
  }
}

export function sameNamespace(a: NamespaceIdentity | undefined, b: NamespaceIdentity | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}

export const identityText = (id: NamespaceIdentity): string => `${id.dev}:${id.ino}`;

/** The identity of the network namespace at `path`; throws NotANamespace otherwise. */
export async function namespaceIdentity(path: string): Promise<NamespaceIdentity> {
  return (await readNamespace(path)).identity;
}

/**
 * Identity plus the nsfs inode's change time, as text: what a mark records. Inode numbers
 * of namespaces are recycled at once (Linux 6.x: `ip netns del X; ip netns add X` can give
 * the new one the old number); the inode's ctime is when this one was made, so a recycled
 * number does not match an old mark. Stable while a bind mount (/run/netns/NAME) pins it.
 */
export async function namespaceMark(path: string): Promise<{ identity: NamespaceIdentity; mark: string } | undefined> {
  try {
    const { identity, ctimeNs } = await readNamespace(path);
    return { identity, mark: `${identityText(identity)}:${ctimeNs}` };
  } catch (err) {
    if (err instanceof NotANamespace) return undefined;
    throw err;
  }
}

/**
 * Network namespaces already proven so, by `dev:ino:ctime`. The kind of a namespace never
 * changes while it lives, and the ctime tells a recycled inode number apart, so a re-check
 * (every reconcile re-reads every workload's path: workload-check.ts) costs one stat instead
 * of a statfs, an open, a readlink and, for a bind mount, a parse of the whole
 * /proc/self/mountinfo, which grows with every namespace on the host: that made each attach
 * cost O(namespaces²) (docs/benchmarks.md, issue 5: 192 ms per attach at 200, growing).
 */
const provenNet = new Set<string>();
const PROVEN_MAX = 65_536;

function remember(key: string): void {
  if (provenNet.size >= PROVEN_MAX) provenNet.clear(); // rare; the next checks prove again
  provenNet.add(key);
}

/**
 * Synchronous system calls on purpose: the files are nsfs and procfs (memory, no disk I/O),
 * and each asynchronous call is a hop through libuv's thread pool, which on a loaded host
 * costs milliseconds per hop (measured: 22 async stats 5-34 ms at load 14, synchronous
 * 0.4-1.3 ms). An attach reads one namespace in six calls and every reconcile re-reads each
 * endpoint's: docs/benchmarks.md, CNI. The async signature stays for the callers.
 */
async function readNamespace(path: string): Promise<{ identity: NamespaceIdentity; ctimeNs: bigint }> {
  return readNamespaceSync(path);
}

function readNamespaceSync(path: string): { identity: NamespaceIdentity; ctimeNs: bigint } {
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NotANamespace(path, code === 'EACCES' ? 'unreadable' : 'missing', code === 'EACCES' ? 'permission denied' : 'no such file');
  }
  if (!st.isFile()) throw new NotANamespace(path, 'not-netns', st.isDirectory() ? 'a directory' : 'not a namespace file');
  // dev:ino:ctime proven before names that very nsfs inode: no statfs, no open.
  const key = `${st.dev}:${st.ino}:${st.ctimeNs}`;
  if (provenNet.has(key)) return { identity: { dev: Number(st.dev), ino: Number(st.ino) }, ctimeNs: st.ctimeNs };
  if (statfsSync(path).type !== NSFS_MAGIC) throw new NotANamespace(path, 'not-netns', 'an ordinary file, not a namespace');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    throw new NotANamespace(path, 'unreadable', 'cannot be opened');
  }
  try {
    const id = fstatSync(fd, { bigint: true });
    const kind = namespaceKind(readlinkSync(`/proc/self/fd/${fd}`), Number(id.ino));
    if (kind !== 'net') throw new NotANamespace(path, 'not-netns', `a ${kind} namespace, not a network namespace`);
    remember(`${id.dev}:${id.ino}:${id.ctimeNs}`);
    return { identity: { dev: Number(id.dev), ino: Number(id.ino) }, ctimeNs: id.ctimeNs };
  } finally {
    closeSync(fd);
  }
}

/** "net", "uts", …: from the fd's link text, or from the nsfs mount at that path. */
function namespaceKind(link: string, ino: number): string {
  const direct = /^(\w+):\[\d+\]$/.exec(link);
  if (direct) return direct[1]!;
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mounts.split('\n').reverse()) {
    const [fields, fs] = line.split(' - ');
    const f = fields?.split(' ') ?? [];
    const root = /^(\w+):\[(\d+)\]$/.exec(f[3] ?? '');
    if (fs?.startsWith('nsfs ') && root && Number(root[2]) === ino && unescapeMount(f[4] ?? '') === link) return root[1]!;
  }
  return 'unknown';
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
