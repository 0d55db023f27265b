/**
 * Validation of what an endpoint carries besides addresses (ADR 005): its name, its labels
 * and its attachment. Label rules are Kubernetes', so labels can be copied from a pod or a
 * container unchanged: key = optional DNS-subdomain prefix and "/", then a name of at most
 * 63 of [A-Za-z0-9._-] starting and ending alphanumeric; value the same rule, may be empty.
 */
import { TenetError } from './errors.js';
import type { Attachment, NetnsId } from './types.js';
import { validateIfname } from './validate.js';

export const MAX_LABELS = 64;
const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ENDPOINT_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
/** Control characters (newline above all) would end a line of an `ip -batch` script. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Shows at most 80 characters of a bad value: an error never echoes a megabyte back. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

export function validateEndpointName(name: unknown): string | undefined {
  if (name === undefined || name === null || name === '') return undefined;
  if (typeof name !== 'string' || !ENDPOINT_NAME.test(name)) {
    throw new TenetError('INVALID_NAME', `invalid endpoint name ${shown(name)}`, 'use 1-63 letters, digits, dots, dashes or underscores, starting and ending with a letter or digit');
  }
  return name;
}

export function validateLabelKey(key: unknown): string {
  const text = typeof key === 'string' ? key : '';
  const slash = text.lastIndexOf('/');
  const prefix = slash >= 0 ? text.slice(0, slash) : undefined;
  const name = text.slice(slash + 1);
  const prefixOk = prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix));
  if (!prefixOk || !LABEL_NAME.test(name)) {
    throw new TenetError(
      'INVALID_LABEL',
      `invalid label key ${shown(key)}`,
      'use an optional DNS prefix and "/", then 1-63 letters, digits, dots, dashes or underscores starting and ending with a letter or digit (e.g. app or example.com/tier)',
    );
  }
  return text;
}

export function validateLabelValue(key: string, value: unknown): string {
  if (typeof value !== 'string' || (value !== '' && !LABEL_NAME.test(value))) {
    throw new TenetError('INVALID_LABEL', `invalid value ${shown(value)} of label ${key}`, 'use at most 63 letters, digits, dots, dashes or underscores, starting and ending with a letter or digit (or an empty value)');
  }
  return value;
}

/** A labels object from a request: validated keys and values, at most MAX_LABELS of them. */
export function validateLabels(labels: unknown): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    throw new TenetError('INVALID_LABEL', 'labels must be an object of key/value strings', 'send e.g. {"app":"web"}');
  }
  const entries = Object.entries(labels);
  checkLabelCount(entries.length);
  return Object.fromEntries(entries.map(([k, v]) => [validateLabelKey(k), validateLabelValue(k, v)]));
}

export function checkLabelCount(n: number): void {
  if (n > MAX_LABELS) throw new TenetError('INVALID_LABEL', `an endpoint can carry at most ${MAX_LABELS} labels (got ${n})`, 'remove some');
}

/** A namespace path as given: absolute, printable, of a sane length. */
export function validateNetnsPath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 1024 || CONTROL.test(path)) {
    throw new TenetError('BAD_REQUEST', `invalid namespace path ${shown(path)}`, 'give an absolute path such as /run/netns/c1 or /proc/PID/ns/net');
  }
  return path;
}

function validateNetnsId(id: unknown): NetnsId {
  const o = (typeof id === 'object' && id !== null ? id : {}) as Record<string, unknown>;
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!whole(o.dev) || !whole(o.ino)) {
    throw new TenetError('BAD_REQUEST', `invalid namespace identity ${shown(id)}`, 'give {"dev": N, "ino": N} as fs.stat reports them for the namespace path');
  }
  return { dev: o.dev as number, ino: o.ino as number };
}

/** An attachment as the controller API receives it (from an agent). */
export function validateAttachment(value: unknown): Attachment {
  const a = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  if (a.kind === 'netns') {
    return { kind: 'netns', netns: validateNetnsPath(a.netns), netnsId: validateNetnsId(a.netnsId), ifname: validateIfname(a.ifname) };
  }
  if (a.kind === 'handoff') {
    if (a.hostIfname === undefined || a.hostIfname === '') throw new TenetError('INVALID_IFNAME', 'a handoff attachment needs hostIfname', 'name the host-side interface');
    return { kind: 'handoff', hostIfname: validateIfname(a.hostIfname), ifname: validateIfname(a.ifname) };
  }
  throw new TenetError('BAD_REQUEST', `invalid attachment ${shown(value)}`, 'give {"kind":"netns","netns","netnsId","ifname"} or {"kind":"handoff","hostIfname","ifname"}');
}

/** Two attachments bind the same thing (a repeated attach is then a no-op). */
export function sameAttachment(a: Attachment | undefined, b: Attachment | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
