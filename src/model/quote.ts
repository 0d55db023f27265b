/**
 * quoteValue: how an error message shows a value the caller sent. Issue #5: an error once
 * echoed a 900 KB name back in full, and JSON.stringify of a body nested 20,000 deep threw
 * RangeError inside the validator, turning a 400 into a 500. This never throws, whatever it
 * is given (deep or circular objects, proxies, BigInt, symbols), and shows at most ~64
 * characters, saying how long the original was.
 */

export const QUOTE_MAX = 64;

export function quoteValue(value: unknown, max = QUOTE_MAX): string {
  try {
    if (typeof value === 'string') return quoteString(value, max);
    const text = preview(value, 0);
    return text.length > max ? `${text.slice(0, max)}…` : text;
  } catch {
    return `(a ${typeof value})`;
  }
}

function quoteString(s: string, max: number): string {
  if (s.length <= max) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, max)).slice(0, -1)}…" (${s.length} characters)`;
}

/** Depth and width are bounded, so neither recursion nor output can grow with the input. */
function preview(v: unknown, depth: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > QUOTE_MAX ? `${v.slice(0, QUOTE_MAX)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return `(a ${typeof v})`;
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    if (depth >= 2) return v.length ? '[…]' : '[]';
    const items = v.slice(0, 4).map((x) => preview(x, depth + 1));
    return `[${items.join(',')}${v.length > 4 ? ',…' : ''}]`;
  }
  const keys = Object.keys(v);
  if (depth >= 2) return keys.length ? '{…}' : '{}';
  const fields = keys.slice(0, 4).map((k) => `${JSON.stringify(k.slice(0, QUOTE_MAX))}:${preview((v as Record<string, unknown>)[k], depth + 1)}`);
  return `{${fields.join(',')}${keys.length > 4 ? ',…' : ''}}`;
}
