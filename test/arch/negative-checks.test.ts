/**
 * Every "must not get through" check goes through assertIsolated/assertBlocked
 * (src/datapath/testing/reach.ts), which runs a positive control at the same moment. This
 * finds the shapes a bare negative check takes in test sources (a ping asserted false, an
 * exit status asserted non-zero next to a ping), so a new one cannot slip in unpaired.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.test.ts') ? [path] : [];
  });
}

/** A ping (or a probe named after reaching) asserted to fail outside reach.ts. */
const BARE = [
  /assert\.equal\([^;]*\bping\b[^;]*,\s*false\b/,
  /assert\.notEqual\([^;]*\bping\b[^;]*,\s*0\b/,
  /assert\.ok\(\s*!\s*\(?\s*await\s+[^;]*\b(ping|reach\w*)\b/,
  /assert\.notEqual\(\s*\w*(spoof|ping)\w*\.code,\s*0/i,
];

test('no negative reachability check without its positive control', () => {
  const offenders: string[] = [];
  const self = join(ROOT, 'test/arch/negative-checks.test.ts'); // its examples are bare on purpose
  for (const file of [...testFiles(join(ROOT, 'src')), ...testFiles(join(ROOT, 'test'))].filter((f) => f !== self)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (BARE.some((re) => re.test(line))) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], 'use assertIsolated/assertBlocked from src/datapath/testing/reach.ts');
});

test('the guard recognizes the bare shapes it forbids', () => {
  const bare = [
    "assert.equal(await u.ping('c1', '192.168.20.2'), false, 'red must not reach green');",
    "assert.notEqual((await ping(`${prefix}-h1`, '10.99.0.99')).code, 0, 'nobody');",
    'assert.notEqual(spoofed.code, 0, "no");',
  ];
  for (const line of bare) assert.ok(BARE.some((re) => re.test(line)), line);
});
