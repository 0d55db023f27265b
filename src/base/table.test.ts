import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAge, formatFields, formatTable, render } from './table.js';

test('formatTable aligns columns under a header and leaves no trailing blanks', () => {
  const text = formatTable(['NAME', 'SUBNET', 'VNI'], [
    ['red', '192.168.10.0/24', 4097],
    ['green-long', '10.0.0.0/8', undefined],
  ]);
  assert.equal(
    text,
    ['NAME        SUBNET           VNI', 'red         192.168.10.0/24  4097', 'green-long  10.0.0.0/8       -', ''].join('\n'),
  );
});

test('formatTable with no rows prints the header only', () => {
  assert.equal(formatTable(['A', 'B'], []), 'A  B\n');
});

test('empty cells print as a dash so columns stay countable for awk', () => {
  assert.equal(formatTable(['A', 'B', 'C'], [['', null, 'x']]), 'A  B  C\n-  -  x\n');
});

test('formatFields aligns values after the longest key', () => {
  assert.equal(formatFields([['id', 'abc'], ['gateway', '10.0.0.1'], ['mtu', undefined]]), 'id:      abc\ngateway: 10.0.0.1\nmtu:     -\n');
});

test('render prints raw objects as a JSON array in json mode', () => {
  const rows = [{ name: 'a', extra: 1 }];
  assert.deepEqual(JSON.parse(render('json', rows, [{ header: 'NAME', value: (r) => r.name }])), rows);
  assert.equal(render('table', rows, [{ header: 'NAME', value: (r) => r.name }]), 'NAME\na\n');
});

test('formatAge picks the largest sensible unit', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const ago = (s: number) => formatAge(new Date(now - s * 1000).toISOString(), now);
  assert.equal(ago(3), '3s ago');
  assert.equal(ago(125), '2m ago');
  assert.equal(ago(3 * 3600), '3h ago');
  assert.equal(ago(5 * 86400), '5d ago');
  assert.equal(ago(-10), '0s ago');
  assert.equal(formatAge(undefined, now), '-');
  assert.equal(formatAge('not a date', now), '-');
});
