/**
 * Architecture check (DESIGN.md "Layers"): imports only point down, and the runtime
 * dependencies are the reviewed allow-list. A new layer edge or dependency is a visible
 * change to this file, not an accident.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

const ALLOWED: Record<string, string[]> = {
  base: [],
  model: ['base'],
  api: ['base', 'model'],
  store: ['base', 'model'],
  policy: ['base', 'model'],
  dns: ['base', 'model'],
  dhcp: ['base', 'model'],
  datapath: ['base', 'model', 'policy'],
  controller: ['base', 'model', 'api', 'store', 'policy'],
  docker: ['base', 'model', 'api'],
  cni: ['base', 'model', 'api'],
  agent: ['base', 'model', 'api', 'datapath', 'policy', 'docker', 'cni', 'dns', 'dhcp'],
  lab: ['base', 'model', 'api', 'datapath'],
  cli: ['base', 'model', 'api'],
  cmd: ['base', 'model', 'api', 'store', 'datapath', 'controller', 'agent', 'lab', 'cli', 'docker', 'cni'],
};

/** Runtime dependencies, each chosen for its job (README "Dependencies"). */
const RUNTIME_DEPS = ['@fastify/swagger', '@sinclair/typebox', 'better-sqlite3', 'commander', 'dns-packet', 'etcd3', 'fastify', 'pino'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

test('imports only point down the layers', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const layer = relative(SRC, file).split('/')[0]!;
    assert.ok(layer in ALLOWED, `unknown layer folder src/${layer}: add it to DESIGN.md and this test`);
    for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
      const target = relative(SRC, join(file, '..', spec)).split('/')[0]!;
      if (target !== layer && !ALLOWED[layer]!.includes(target)) violations.push(`${relative(ROOT, file)} imports ${spec} (${layer} -> ${target})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('runtime dependencies are the reviewed allow-list', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}).sort(), RUNTIME_DEPS);
});

test('the check sees real imports (it would catch a violation)', () => {
  const agentFiles = sourceFiles(join(SRC, 'agent'));
  const edges = agentFiles.flatMap(importsOf).filter((s) => s.startsWith('../datapath/'));
  assert.ok(edges.length > 0, 'agent imports datapath: the parser must see it');
});
