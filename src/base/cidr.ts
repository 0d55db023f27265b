/**
 * IPv4 address and prefix arithmetic. Addresses are handled as unsigned 32-bit numbers;
 * parsing returns undefined on bad input so that callers (the model layer) can turn it into
 * a catalogued, user-facing error.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  base: number;
  prefixLen: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parses "a.b.c.d/n"; rejects host bits set ("10.0.0.1/24") so a subnet is never ambiguous. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, len, extra] = text.split('/');
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const prefixLen = Number(len);
  const addr = parseIp(ip ?? '');
  if (addr === undefined || prefixLen > 32) return undefined;
  if ((addr & ~maskOf(prefixLen)) >>> 0 !== 0) return undefined;
  return { base: addr, prefixLen };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefixLen}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

export function contains(c: Cidr, addr: number): boolean {
  return ((addr & maskOf(c.prefixLen)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const shorter = Math.min(a.prefixLen, b.prefixLen);
  const m = maskOf(shorter);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** First and last addresses a host may use: network and broadcast excluded below /31. */
export function usableRange(c: Cidr): { first: number; last: number } {
  const last = c.base + size(c) - 1;
  if (c.prefixLen >= 31) return { first: c.base, last };
  return { first: c.base + 1, last: last - 1 };
}
