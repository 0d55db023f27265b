/**
 * Watch lines, encoded once (issue 6): a put or delete line is spliced around the value as
 * the store holds it (the controller only ever stores JSON.stringify output, so it holds no
 * raw newline), never parsed and re-serialized per watcher. Every recipient of an event is
 * written the same string. `encodings` counts the lines built, so a test can check that the
 * number of watchers does not multiply them.
 */
import type { ObjectKind } from '../model/types.js';
import type { WatchEvent } from '../store/types.js';
import { kindOfKey } from '../model/keys.js';

export const encodings = { count: 0 };

/** The prefix of an event line; the object's value follows, then `}\n`. */
export function linePrefix(type: 'put' | 'delete', kind: ObjectKind, revision: number): string {
  return `{"type":"${type}","kind":"${kind}","revision":${revision},"object":`;
}

export function eventLine(type: 'put' | 'delete', kind: ObjectKind, revision: number, value: string): string {
  encodings.count++;
  return `${linePrefix(type, kind, revision)}${value}}\n`;
}

export const bookmarkLine = (revision: number) => `{"type":"bookmark","revision":${revision}}\n`;
export const syncedLine = (revision: number) => `{"type":"synced","revision":${revision}}\n`;
export const compactedLine = (revision: number) => `{"type":"compacted","revision":${revision}}\n`;
export const resyncLine = (revision: number, reason: string) => `${JSON.stringify({ type: 'resync', revision, reason })}\n`;

const memo = new WeakMap<WatchEvent, string | null>();

/**
 * The line of a store event for the unfiltered watch, built once per event object whatever
 * the number of watchers (the store hub hands every watcher the same event objects);
 * null for allocation and other internal keys.
 */
export function lineOfEvent(e: WatchEvent): string | null {
  let line = memo.get(e);
  if (line !== undefined) return line;
  const kind = kindOfKey(e.kv.key);
  const value = e.type === 'put' ? e.kv.value : e.prevKv?.value;
  line = kind && value !== undefined ? eventLine(e.type, kind, e.kv.modRevision, value) : null;
  memo.set(e, line);
  return line;
}
