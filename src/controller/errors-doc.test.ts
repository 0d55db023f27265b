import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CATALOG, type ErrorCode } from '../model/errors.js';

/** The repo root: the nearest ancestor (of src/ or dist/src/) that holds docs/errors.md. */
function findDoc(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'docs', 'errors.md');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('docs/errors.md not found above this test');
}

test('docs/errors.md documents every catalog code with its HTTP status and CNI code', () => {
  const doc = readFileSync(findDoc(), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`([A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code) rows.set(code, cells.slice(2, -1));
  }
  for (const [code, entry] of Object.entries(CATALOG) as [ErrorCode, (typeof CATALOG)[ErrorCode]][]) {
    const row = rows.get(code);
    assert.ok(row, `${code} is not documented in docs/errors.md`);
    assert.equal(row[0], String(entry.status), `${code}: HTTP status`);
    assert.equal(row[1], String(entry.cni), `${code}: CNI code`);
    assert.ok(row[2] && row[3], `${code}: meaning and fix must not be empty`);
  }
  const unknown = [...rows.keys()].filter((c) => !(c in CATALOG));
  assert.deepEqual(unknown, [], 'codes documented but not in the catalog');
});
