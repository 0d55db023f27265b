/**
 * Test support: the real marker files (ownership.ts) in a temporary directory, over the
 * fake kernel's namespaces. A fake namespace's identity is the object that holds it, so a
 * namespace deleted and made again under the same name is another namespace, as in Linux.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NamespaceIdentity } from '../ns-identity.js';
import { MarkerOwnership, type Identified } from '../ownership.js';
import type { FakeKernel } from './fake-kernel.js';

const FAKE_DEV = 4;
const inodes = new WeakMap<object, number>();
let nextInode = 4026540000;
const byKernel = new WeakMap<FakeKernel, MarkerOwnership>();
const dirs: string[] = [];
process.once('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

export function fakeIdentity(k: FakeKernel, ns: string): Identified | undefined {
  const obj = k.namespaces.get(ns);
  if (!obj) return undefined;
  if (!inodes.has(obj)) inodes.set(obj, nextInode++);
  const identity: NamespaceIdentity = { dev: FAKE_DEV, ino: inodes.get(obj)! };
  return { identity, mark: `${identity.dev}:${identity.ino}` };
}

/** One marker directory per fake kernel, removed when the test process exits. */
export function fakeOwnership(k: FakeKernel): MarkerOwnership {
  let o = byKernel.get(k);
  if (!o) {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-owned-'));
    dirs.push(dir);
    o = new MarkerOwnership(dir, async (ns) => fakeIdentity(k, ns));
    byKernel.set(k, o);
  }
  return o;
}
