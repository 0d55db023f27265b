/**
 * Which named namespaces Tenet made. Issue #5: the datapath deleted every /run/netns entry
 * whose name began with its prefix, so a user's own `tenet-foo` would have been destroyed.
 * Now each namespace Tenet creates gets a marker file, `<dir>/<name>`, holding its identity
 * (device:inode of its nsfs file, see ns-identity.ts); a namespace is Tenet's only while its
 * current identity matches its marker (with the inode's birth time: inode numbers are
 * recycled, see namespaceMark). A name reused by someone else, even after Tenet's namespace
 * was removed behind its back, has another identity and is left alone.
 *
 * The marker is written in two steps: "pending" before `ip netns add`, the identity after.
 * A crash in between leaves a pending marker, and the namespace found under it is adopted
 * (it can only be the one we were making); without the first step it would sit unmarked and
 * block its tenant forever. See docs/adr/007-namespace-identity.md, also for namespaces of
 * an older Tenet that made no markers.
 *
 * The marks' directory may be shared by agents that do not see the same /run/netns (one in
 * a private mount namespace: tests, benchmarks). A mark is therefore pruned only by an agent
 * in the mount namespace that wrote it (its second line, `writer <dev:ino>`): there, a
 * namespace missing from /run/netns is gone; elsewhere it may merely be invisible, and
 * deleting its mark would make its own agent refuse it ("exists but Tenet did not make it").
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { namespaceMark, type NamespaceIdentity } from './ns-identity.js';

export const DEFAULT_OWNED_DIR = '/run/tenet/netns-owned';
const NETNS_DIR = '/run/netns';
const PENDING = 'pending';
const WRITER = 'writer ';

/** The mount namespace this process sees /run/netns through, as `dev:ino`. */
export async function selfMountNamespace(): Promise<string> {
  const st = await stat('/proc/self/ns/mnt');
  return `${st.dev}:${st.ino}`;
}

/** A live namespace's identity, and the text its mark must hold (namespaceMark). */
export interface Identified {
  identity: NamespaceIdentity;
  mark: string;
}

export interface NamespaceOwnership {
  /** Before creating `ns`: a crash from here on still leaves it recognisably ours. */
  intend(ns: string): Promise<void>;
  /** After creating `ns`: records its identity. */
  mark(ns: string): Promise<void>;
  /** True when `ns` exists and is the namespace Tenet made under that name. */
  owns(ns: string): Promise<boolean>;
  /** After removing `ns` (or failing to create it). */
  forget(ns: string): Promise<void>;
  /** Identities of every live namespace Tenet made (the agent refuses to attach into them). */
  ownedIdentities(): Promise<NamespaceIdentity[]>;
}

/** The marker files, in a Tenet-owned directory (a temporary one in tests). */
export class MarkerOwnership implements NamespaceOwnership {
  constructor(
    readonly dir = DEFAULT_OWNED_DIR,
    private readonly identify: (ns: string) => Promise<Identified | undefined> = (ns) => namespaceMark(`${NETNS_DIR}/${ns}`),
    private readonly mountNamespace: () => Promise<string> = selfMountNamespace,
  ) {}

  async intend(ns: string): Promise<void> {
    await this.write(ns, PENDING);
  }

  async mark(ns: string): Promise<void> {
    const id = await this.identify(ns);
    if (!id) throw new Error(`namespace ${ns} vanished right after it was created`);
    await this.write(ns, id.mark);
  }

  async owns(ns: string): Promise<boolean> {
    const marker = await this.read(ns);
    if (marker === undefined) return false;
    const id = await this.identify(ns);
    if (!id) return false;
    if (marker === PENDING) {
      await this.write(ns, id.mark); // the crash case of the file comment: adopt
      return true;
    }
    return marker === id.mark;
  }

  async forget(ns: string): Promise<void> {
    await rm(this.path(ns), { force: true });
  }

  async ownedIdentities(): Promise<NamespaceIdentity[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: NamespaceIdentity[] = [];
    const here = await this.mountNamespace();
    for (const ns of names.filter(isMarkerName)) {
      const [file, id] = await Promise.all([this.readFile(ns), this.identify(ns)]);
      const marker = file?.mark;
      // A pending marker still names ours; a stale one (the inode may be reused) names nothing.
      if (id && (marker === PENDING || marker === id.mark)) out.push(id.identity);
      // A mark whose namespace is gone (removed behind Tenet's back) is dropped, but only where
      // "not in /run/netns" proves it gone: in the mount namespace that wrote it (file comment).
      // A pending one may be a creation in progress, and a mark with no writer (an older
      // Tenet's) proves nothing: both stay.
      if (!id && file && marker !== PENDING && file.writer === here) await this.forget(ns);
    }
    return out;
  }

  private path(ns: string): string {
    if (!isMarkerName(ns)) throw new Error(`unsafe namespace name ${JSON.stringify(ns.slice(0, 64))}`);
    return `${this.dir}/${ns}`;
  }

  private async read(ns: string): Promise<string | undefined> {
    return (await this.readFile(ns))?.mark;
  }

  /** The mark (first line) and the mount namespace of its writer (second line, absent in older marks). */
  private async readFile(ns: string): Promise<{ mark: string; writer?: string } | undefined> {
    const text = await readFile(this.path(ns), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const [mark = '', second = ''] = text.split('\n').map((l) => l.trim());
    return { mark, ...(second.startsWith(WRITER) ? { writer: second.slice(WRITER.length) } : {}) };
  }

  /** Write-then-rename with a unique temporary name: concurrent writers never share a file. */
  private async write(ns: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.dir}/.${ns}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, `${text}\n${WRITER}${await this.mountNamespace()}\n`, { mode: 0o600 });
    await rename(tmp, this.path(ns));
  }
}

/** A namespace name as `ip netns` accepts it, and never a path or a hidden temporary file. */
const isMarkerName = (ns: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,254}$/.test(ns);

