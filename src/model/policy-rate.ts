/**
 * Rates of `tenet policy rate` (issue 7), in tc's units so an operator reads them as tc shows
 * them: bit, kbit, mbit, gbit, tbit (powers of 1000) and kibit, mibit, gibit, tibit (powers
 * of 1024), case-insensitive, with an optional fraction ("1.5gbit"). The result is bits per
 * second, a whole number. Two spellings are refused on purpose: a bare number (tc reads it as
 * bits, a user usually means mbit) and tc's bps family, which means BYTES per second: a user
 * who writes "20mbps" means one of the two, and guessing wrong is an 8x error.
 */
import { TenetError } from './errors.js';
import { shown } from './validate-endpoint.js';

export const MIN_RATE_BPS = 8_000;
export const MAX_RATE_BPS = 1e12;

const UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
};

const FIX = 'write a number and a bit unit, e.g. 500kbit, 20mbit or 1gbit (tc units: kbit = 1000 bit/s, kibit = 1024)';

/** "20mbit" → 20000000 (bits per second). `what` names the field in errors. */
export function parseRate(text: unknown, what = 'rate'): number {
  const m = typeof text === 'string' ? /^\s*(\d{1,15}(?:\.\d{1,9})?)\s*([a-z]*)\s*$/i.exec(text) : null;
  if (!m) throw new TenetError('INVALID_RATE', `${what} ${shown(text)} is not a rate`, FIX);
  const unit = m[2]!.toLowerCase();
  if (unit === '') throw new TenetError('INVALID_RATE', `${what} ${shown(text)} has no unit`, FIX);
  if (unit.endsWith('bps')) {
    throw new TenetError('INVALID_RATE', `${what} ${shown(text)} is in bytes per second (tc's bps), which Tenet does not take`, FIX);
  }
  const scale = UNITS[unit];
  if (scale === undefined) throw new TenetError('INVALID_RATE', `${what} ${shown(text)}: unknown unit ${shown(m[2])}`, FIX);
  const bps = Math.round(Number(m[1]) * scale);
  if (bps < MIN_RATE_BPS || bps > MAX_RATE_BPS) {
    throw new TenetError('INVALID_RATE', `${what} ${shown(text)} is outside 8kbit..1tbit`, 'give a rate in that range');
  }
  return bps;
}

/** 20000000 → "20mbit": the shortest exact tc spelling (listings show what was meant). */
export function formatRate(bps: number): string {
  for (const [unit, scale] of [['tbit', 1e12], ['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
    if (bps >= scale && bps % scale === 0) return `${bps / scale}${unit}`;
  }
  return `${bps}bit`;
}
