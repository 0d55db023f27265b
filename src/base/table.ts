/**
 * Plain-text output shared by the user commands (src/cli) and the lab commands (src/lab):
 * aligned columns with a header row, `key: value` blocks, ages, and the `-o json` form.
 * No colours and no dependencies, so output pipes cleanly into grep, awk and jq.
 */

export type OutputFormat = 'table' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json'];

export type Cell = string | number | boolean | undefined | null;

export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
}

const GAP = '  ';

function cellText(cell: Cell): string {
  return cell === undefined || cell === null || cell === '' ? '-' : String(cell);
}

/** Aligned columns; the last column is not padded, so lines carry no trailing blanks. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const lines = [headers, ...rows.map((r) => r.map(cellText))];
  const widths = headers.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l) => l.map((c, i) => (i === l.length - 1 ? c : (c ?? '').padEnd(widths[i] ?? 0))).join(GAP).trimEnd())
    .join('\n')
    .concat('\n');
}

export function tableOf<T>(rows: readonly T[], columns: Column<T>[]): string {
  return formatTable(
    columns.map((c) => c.header),
    rows.map((r) => columns.map((c) => c.value(r))),
  );
}

/** One object as aligned `key: value` lines (the `show` commands). */
export function formatFields(fields: [string, Cell][]): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length + 1));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width)} ${cellText(v)}`).join('\n').concat('\n');
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Rows as a table, or the raw objects as JSON for scripts. */
export function render<T>(format: OutputFormat, rows: readonly T[], columns: Column<T>[]): string {
  return format === 'json' ? formatJson(rows) : tableOf(rows, columns);
}

/** "3s ago", "5m ago", "2h ago", "4d ago"; a clock a little ahead of ours reads "0s ago". */
export function formatAge(iso: string | undefined, now = Date.now()): string {
  const then = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(then)) return '-';
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
