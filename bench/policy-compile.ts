/**
 * Policy compilation (issue 7, docs/adr/012): for 10, 1,000 and 10,000 rules, the time to
 * compile and render, the time `nft -f` takes to load the table into a scratch namespace, the
 * set lookups a new packet traverses (dispatch included) in the worst case and for a flow that
 * matches the last rule, and what checkFlow costs per flow (what removing now-denied conntrack
 * entries pays). Baseline from the same run: loading the same table with no policy.
 *
 * Profiles: `allow-list`, N allows of distinct sources and ports (one run: one set); `mixed`,
 * allow and deny alternating every 10 rules at rising priorities (a run breaks every
 * 10 rules: N/10 steps), the shape merging cannot flatten: its lookups grow, ten times slower.
 *
 * Then what ONE changed rule costs to load in place (bench/lib/policy-change.ts): every
 * object of the policy declared again, against only the objects whose text changed
 * (docs/adr/026), for the update figure's 100-rule policy and for 10,000 rules.
 *
 *   node dist/bench/policy-compile.js [--max 10000] [--change-rounds 10]
 */
import { performance } from 'node:perf_hooks';
import { formatTable } from '../src/base/table.js';
import { checkFlow, type Flow } from '../src/policy/check.js';
import { compileTenant, pairKey, type CompileInput } from '../src/policy/compile.js';
import { renderNft } from '../src/policy/render.js';
import { ep, net, policy } from '../src/policy/testing/objects.js';
import { nftIn, tenantTable, withScratch } from '../src/policy/testing/scratch.js';
import type { CompiledPolicy, Step } from '../src/policy/types.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import { changeCost, changeRow } from './lib/policy-change.js';

type Profile = 'allow-list' | 'mixed';

function tenant(n: number, profile: Profile): CompileInput {
  const red = net('red', '10.1.0.0/16', ['big']);
  const green = net('green', '10.2.0.0/16', ['big']);
  const nets = [red, green, net('blue', '10.3.0.0/16', ['big']), net('gold', '10.4.0.0/16')];
  const rules = Array.from({ length: n }, (_, i) => {
    const action = profile === 'mixed' && Math.floor(i / 10) % 2 === 1 ? 'deny' : 'allow';
    const priority = profile === 'mixed' ? ` priority ${100 + Math.floor(i / 10)}` : '';
    return `${action} tcp from cidr:10.1.${i >> 8}.${i & 255}/32 to net:green port ${1000 + (i % 5000)}${priority}`;
  });
  const endpoints = [ep('w', red, '10.1.0.1', { tier: 'web' }), ep('d', green, '10.2.0.2', { tier: 'db' })];
  return { networks: nets, endpoints, policies: [policy('big', rules)] };
}

const stepLookups = (s: Step) => (s.set ? 1 : 0) + (s.srcGroup ? 1 : 0) + (s.dstGroup ? 1 : 0);

function lookups(c: CompiledPolicy): { worst: number; steps: number; elements: number } {
  const chains = Object.values(c.chains);
  const worst = Math.max(0, ...chains.map((ch) => ch.steps.reduce((a, s) => a + stepLookups(s), 0)));
  const steps = chains.reduce((a, ch) => a + ch.steps.length, 0);
  const elements = chains.reduce((a, ch) => a + ch.steps.reduce((b, s) => b + s.elements.length, 0), 0);
  return { worst: 1 + worst, steps, elements };
}

/** Lookups until the flow's deciding step (1 for the dispatch map). */
function lookupsFor(c: CompiledPolicy, f: Flow): number {
  const t = c.pairs[pairKey('red', 'green')]!;
  if (!('chain' in t)) return 1;
  const decided = checkFlow(c, f).rule;
  let n = 1;
  for (const s of c.chains[t.chain]!.steps) {
    n += stepLookups(s);
    if (decided && s.elements.some((e) => c.rules[e.rule]!.index === decided.index)) break;
  }
  return n;
}

const ms = (t0: number) => (performance.now() - t0).toFixed(1);

function loadMs(ns: string, text: string): string {
  const t0 = performance.now();
  nftIn(ns, `table inet tenet {}\ndelete table inet tenet\n${text}`);
  return ms(t0);
}

runBench('policy-compile', async () => {
  const max = intArg('max', 10000, 100000);
  const changeRounds = intArg('change-rounds', 10, 100);
  printReproduce('policy-compile', `--max ${max} --change-rounds ${changeRounds}`);
  const rows: (string | number)[][] = [];
  await withScratch('polb', (ns) => {
    const empty = tenantTable(renderNft(compileTenant({ ...tenant(0, 'allow-list'), policies: [] })));
    rows.push(['baseline: no policy', 0, '-', '-', loadMs(ns, empty), 1, 1, '-', '-']);
    for (const profile of ['allow-list', 'mixed'] as const) {
      for (const n of [10, 1000, 10000].filter((x) => x <= max)) {
        const input = tenant(n, profile);
        let t0 = performance.now();
        const c = compileTenant(input);
        const compile = ms(t0);
        t0 = performance.now();
        const text = tenantTable(renderNft(c));
        const render = ms(t0);
        const load = loadMs(ns, text);
        const last = n - 1;
        const lastFlow: Flow = { src: `10.1.${last >> 8}.${last & 255}`, dst: '10.2.0.2', proto: 'tcp', port: 1000 + (last % 5000) };
        const flows: Flow[] = Array.from({ length: 10000 }, (_, i) => ({ src: `10.1.${(i * 7) % 40}.${i % 250}`, dst: '10.2.0.2', proto: 'tcp', port: 1000 + (i % 6000) }));
        t0 = performance.now();
        for (const f of flows) checkFlow(c, f);
        const perFlow = (((performance.now() - t0) / flows.length) * 1000).toFixed(1);
        const l = lookups(c);
        rows.push([`${profile} ${n}`, n, compile, render, load, l.worst, lookupsFor(c, lastFlow), `${l.steps}/${l.elements}`, perFlow]);
      }
    }
  });
  console.log(formatTable(['rules', 'n', 'compile ms', 'render ms', 'nft -f ms', 'lookups worst', 'lookups last rule', 'steps/elements', 'checkFlow µs'], rows));
  const change: (string | number)[][] = [];
  await withScratch('polc', (ns) => {
    for (const n of [100, 10000].filter((x) => x <= max)) change.push(changeRow(changeCost(ns, n, changeRounds)));
  });
  console.log(`\none rule changed, loaded in place (nft -f, spawn included), median of ${changeRounds} each, alternated:`);
  console.log(formatTable(['rules', 'all objects again ms', 'changed objects only ms', 'ratio', 'floor: empty script ms'], change));
});
