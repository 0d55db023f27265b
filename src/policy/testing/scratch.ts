/**
 * Test and bench support: a scratch network namespace with a unique name, for loading
 * compiled rulesets into the real kernel. `withScratch` removes it even when the body throws.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { NftFragments } from '../render.js';
import { tableBody } from '../render.js';

export function run(argv: string[], input?: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr || r.stdout).slice(0, 2000)}`);
  return r.stdout;
}

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

export async function withScratch<T>(prefix: string, body: (ns: string) => Promise<T> | T): Promise<T> {
  const ns = uniqueName(prefix);
  run(['ip', 'netns', 'add', ns]);
  try {
    return await body(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** The forward chain as the tenant namespace has it (src/datapath/nft.ts), with the policy rules after. */
export function tenantTable(f: NftFragments, table = 'tenet'): string {
  return [
    `table inet ${table} {`,
    tableBody(f),
    `  chain forward {`,
    `    type filter hook forward priority filter; policy drop;`,
    `    ct state established,related accept`,
    f.forwardRules,
    `  }`,
    `}`,
    '',
  ].filter((l) => l !== '').join('\n');
}

export function nftIn(ns: string, script: string): string {
  return run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], script);
}
