/**
 * Golden nft text for compiled policies: src/policy/testdata/NAME.nft is what the tenant
 * namespace's `inet tenet` table carries for each scenario (testing/scenarios.ts). A change
 * to the compiler that changes them is a visible diff; accept it with UPDATE_GOLDEN=1 and
 * review. policy.kernel.test.ts loads every golden into the real kernel.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileTenant } from './compile.js';
import { renderNft } from './render.js';
import { SCENARIOS, TESTDATA } from './testing/scenarios.js';
import { tenantTable } from './testing/scratch.js';

function goldenText(name: string): string {
  const s = SCENARIOS[name]!;
  return `# ${s.about}\n${tenantTable(renderNft(compileTenant(s.input)))}`;
}

describe('policy nft golden text', () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(name, () => {
      const file = new URL(`${name}.nft`, TESTDATA);
      const text = goldenText(name);
      if (process.env.UPDATE_GOLDEN === '1') return writeFileSync(file, text);
      let want: string;
      try {
        want = readFileSync(file, 'utf8');
      } catch {
        assert.fail(`missing ${file.pathname}: run the test once with UPDATE_GOLDEN=1 and review the file`);
      }
      assert.equal(text, want, `${name}.nft differs: if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff`);
    });
  }
});
