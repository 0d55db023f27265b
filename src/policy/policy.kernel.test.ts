/**
 * The compiled text in the real kernel. Every golden loads into a fresh namespace's
 * `inet tenet` table as it stands (so it is valid for this nft and kernel), and for random
 * rule sets, real packets through a router namespace carrying the compiled table get the
 * verdict checkFlow gives: forwarded (allow), answered by a TCP reset or ICMP unreachable
 * (reject), or nothing (deny). The sample always holds flows of each verdict that occur, so
 * a ruleset that dropped everything could not pass. A failure prints the seed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kernelSkip } from '../datapath/testing/kernel-env.js';
import { checkFlow, type Flow } from './check.js';
import { compileTenant } from './compile.js';
import { renderNft } from './render.js';
import { randomFlow, randomTenant, rng } from './testing/random.js';
import { SCENARIOS, TESTDATA } from './testing/scenarios.js';
import { nftIn, run, tenantTable, withScratch } from './testing/scratch.js';
import { withWire } from './testing/wire.js';

const skip = kernelSkip('policy kernel tests', ['ip', 'nft', 'python3', 'ping']);

describe('compiled policy in the kernel', { skip }, () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(`golden ${name}.nft loads`, async () => {
      const text = readFileSync(new URL(`${name}.nft`, TESTDATA), 'utf8');
      await withScratch('polg', (ns) => {
        nftIn(ns, text);
        assert.match(run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'tenet']), /chain forward/);
      });
    });
  }

  it('real packets get the verdict checkFlow gives', async () => {
    const base = Number(process.env.POLICY_SEED ?? 9100);
    await withWire(async (wire) => {
      const seen = { allow: 0, deny: 0, reject: 0 };
      for (let seed = base; seed < base + 8; seed++) {
        const r = rng(seed);
        const t = randomTenant(r);
        const compiled = compileTenant(t);
        nftIn(wire.router, `table inet tenet {}\ndelete table inet tenet\n${tenantTable(renderNft(compiled))}`);
        const flows: Flow[] = Array.from({ length: 50 }, () => randomFlow(r, t));
        const want = flows.map((f) => checkFlow(compiled, f).verdict);
        const got = wire.send(flows);
        flows.forEach((f, i) => {
          seen[want[i]!]++;
          assert.equal(got[i], want[i], `seed ${seed} (POLICY_SEED=${seed}): flow ${JSON.stringify(f)}: kernel ${got[i]}, checkFlow ${want[i]} (${checkFlow(compiled, f).reason})`);
        });
      }
      assert.ok(seen.allow > 0 && seen.deny > 0 && seen.reject > 0, `every verdict exercised: ${JSON.stringify(seen)}`);
    });
  });
});
