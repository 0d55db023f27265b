/**
 * Policy on the full stack (issue 7, "Benchmarks"): a controller and a 4-host lab of Tenet
 * agents, tenant `bench` with networks red (10.1.0.0/16) and green (10.2.0.0/16), one policy
 * `p` whose rules and attachment the benchmark changes through the API, as a user would.
 * Containers: c1 red on h1 (the client), c2 green on h2, c3 red on h2, c4 red on h3, c5 green
 * on h4 (every host carries the tenant, so every host enforces `p`).
 *
 * 1. Cross-host, cross-network single-stream TCP (iperf3 c1 → c2) with 10,000 rules in force,
 *    the measured flow matching only the LAST one (bench/lib/policy-rules.ts: allow/deny
 *    alternating every 10 rules, about 1,000 set lookups before the last rule; an allow-list
 *    would merge into one lookup and prove nothing). Baseline: the same path with a pass-all
 *    1-rule policy: a flow between networks needs a policy to pass at all, so "no policy" does
 *    not exist for it. THE ISSUE'S FIGURE is 10k/pass-all. Also printed: c1 → c3 (same network,
 *    cross-host) with no policy in the tenant, the datapath of issue 2, for scale.
 * 2. Same-network cross-host TCP (c1 → c3) with `p` holding rules that apply inside red
 *    (tiers by label, a final deny: br_netfilter and conntrack on every bridged packet) as a
 *    ratio to the same path with no policy in the tenant (br_netfilter off, ADR 013).
 *    2b: the same path with those rules inside GREEN only (attached to green alone): red's
 *    bridge keeps br_netfilter off (per bridge, ADR 013), so red pays nothing for green's policy.
 * 3. `policy update` (PATCH returning) until enforced on every host: in each host's tenant
 *    namespace `nft monitor` sees the commit of the reloaded ruleset (bench/lib/nft-watch.ts),
 *    so "enforced" is observed in each kernel, not reported by an agent. Each update replaces
 *    the last rule of a `--update-rules`-rule policy (mixed shape) with a new port; updates are
 *    300 ms apart. Also: until the controller's realization says every host has it (the API's
 *    view; agents report at most every 50 ms). Baseline: a bare `nft -f` of the same ruleset
 *    (h1's tenant namespace, listed) into a scratch namespace, spawn included.
 * 4. Compile + load of 10,000 rules: bench/policy-compile.ts.
 *
 * Rounds of 1 and 2 measure the five configurations in a rotated order; each switch goes
 * through the API and waits until realized everywhere (its duration is printed: for 10,000
 * rules it is the full stack's compile-and-load time), then a 1 s iperf3 warm-up. Figures are
 * printed, never asserted. Traffic only between the lab's containers.
 *
 *   node dist/bench/policy-stack.js [--rounds 3] [--seconds 5] [--rules 10000] [--updates 30] [--update-rules 100] [--only update|throughput] [--keep-logs DIR]
 *
 * `--only update` runs part 3 alone (no throughput rounds, so no 10,000-rule switch);
 * `--only throughput` runs parts 1 and 2 alone.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../src/base/async.js';
import { formatTable } from '../src/base/table.js';
import { bridgeName } from '../src/datapath/names.js';
import { containerNs } from '../src/lab/config.js';
import { iperf, type IperfResult, type Side } from './lib/iperf.js';
import { inNs, now, sh, shMaybe } from './lib/kernel.js';
import { intArg, message, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { NftWatch } from './lib/nft-watch.js';
import { fenceInside, lastRuleMatches, updateBase, updateRule } from './lib/policy-rules.js';
import { fmt, LATENCY_HEADERS, latencyRow, median, medianRange, percentile } from './lib/stats.js';
import { startRig, TENANT, type Rig } from './lib/tenet.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const RED = { name: 'red', subnet: '10.1.0.0/16', src16: '10.1' };
const GREEN = { name: 'green', subnet: '10.2.0.0/16' };
const POLICY = 'p';
const REALIZE_LIMIT_MS = 120_000;

type Config = 'none' | 'pass-all' | 'rules' | 'in-network' | 'elsewhere';
const CONFIGS: Config[] = ['none', 'pass-all', 'rules', 'in-network', 'elsewhere'];

interface Stack {
  rig: Rig;
  cleanup: Cleanup;
  tenantNs: string[];
  rules: Record<Exclude<Config, 'none'>, string[]>;
  /** Rules `p` holds now, and the networks it is attached to. */
  current: string[];
  attached: string[];
  /** Red's bridge, whose br_netfilter the per-bridge configuration checks. */
  redBridge: string;
}

runBench('policy-stack', async (cleanup) => {
  const rounds = intArg('rounds', 3, 20);
  const seconds = intArg('seconds', 5, 60);
  const nRules = intArg('rules', 10000, 10000);
  const updates = intArg('updates', 30, 500);
  const updateRules = intArg('update-rules', 100, 10000);
  const only = onlyArg();
  printReproduce('policy-stack', `--rounds ${rounds} --seconds ${seconds} --rules ${nRules} --updates ${updates} --update-rules ${updateRules}${only ? ` --only ${only}` : ''}`);
  const rig = await startRig('bs', HOSTS.length, '10.99.0.0/24', cleanup);
  keepLogs(rig, cleanup);
  const red = await rig.controller.createNetwork(TENANT, { name: RED.name, subnet: RED.subnet });
  await rig.controller.createNetwork(TENANT, { name: GREEN.name, subnet: GREEN.subnet });
  const run = (host: string, name: string, network: string, labels?: Record<string, string>) =>
    rig.lab.run(host, name, { tenant: TENANT, network, ...(labels ? { labels } : {}) }).then((ep) => ({ ns: containerNs(rig.prefix, name), ip: ep.ip }));
  const c1 = await run('h1', 'c1', RED.name, { role: 'client' });
  const c2 = await run('h2', 'c2', GREEN.name);
  const c3 = await run('h2', 'c3', RED.name, { role: 'server' });
  await run('h3', 'c4', RED.name);
  await run('h4', 'c5', GREEN.name);
  await rig.controller.createPolicy(TENANT, { name: POLICY, rules: ['allow any from any to any'] });
  const stack: Stack = {
    rig,
    cleanup,
    tenantNs: HOSTS.map((h) => `${rig.prefix}-${h}-${TENANT}`),
    rules: { 'pass-all': ['allow any from any to any'], rules: lastRuleMatches(nRules, RED.src16, GREEN.name, c1.ip, c2.ip), 'in-network': fenceInside(RED.name), elsewhere: fenceInside(GREEN.name) },
    current: ['allow any from any to any'],
    attached: [],
    redBridge: bridgeName(red.vni),
  };
  const paths: Record<Config, { client: Side; server: Side }> = { none: { client: c1, server: c3 }, 'pass-all': { client: c1, server: c2 }, rules: { client: c1, server: c2 }, 'in-network': { client: c1, server: c3 }, elsewhere: { client: c1, server: c3 } };

  if (only !== 'update') {
    const tput = await throughputRounds(stack, paths, rounds, seconds, nRules);
    reportThroughput(tput, rounds, seconds, nRules);
  }
  if (only !== 'throughput') await updateLatency(stack, updates, updateRules);
  console.log('\n4. compile + load of 10,000 rules: node dist/bench/policy-compile.js (docs/benchmarks.md, "Policy")');
});

/** `--keep-logs DIR`: the controller's and agents' logs are copied there before the lab goes down. */
function keepLogs(rig: Rig, cleanup: Cleanup): void {
  const i = process.argv.indexOf('--keep-logs');
  const dir = i < 0 ? undefined : process.argv[i + 1];
  if (!dir) return;
  cleanup.add(`copy logs to ${dir}`, () => {
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(rig.dir, 'controller.log'), join(dir, 'controller.log'));
    for (const p of rig.lab.ls().processes) copyFileSync(p.log, join(dir, `${p.name.replace(/ /g, '-')}.log`));
  });
}

/** `--only update` or `--only throughput`: one part of the benchmark; absent: both. */
function onlyArg(): 'update' | 'throughput' | undefined {
  const i = process.argv.indexOf('--only');
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === 'update' || v === 'throughput') return v;
  console.error(`--only wants update or throughput, got ${JSON.stringify(v)}`);
  process.exit(2);
}

// ---- 1 and 2: throughput under four configurations ----

interface Tput {
  samples: Record<Config, IperfResult[]>;
  switches: Record<Config, number[]>;
}

async function throughputRounds(s: Stack, paths: Record<Config, { client: Side; server: Side }>, rounds: number, seconds: number, nRules: number): Promise<Tput> {
  const empty = () => Object.fromEntries(CONFIGS.map((c) => [c, []])) as unknown as Record<Config, never[]>;
  const out: Tput = { samples: empty(), switches: empty() };
  for (let r = 0; r < rounds; r++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]!);
    for (const cfg of order) {
      s.cleanup.check();
      const t0 = now();
      await applyConfig(s, cfg);
      const took = now() - t0;
      out.switches[cfg].push(took);
      const p = paths[cfg];
      await warmUp(p.client, p.server);
      const x = await iperf(p.client, p.server, seconds);
      out.samples[cfg].push(x);
      console.log(
        `round ${r + 1} ${label(cfg, nRules).padEnd(34)} ${fmt(x.gbps)} Gbit/s  retransmits ${x.retransmits}  CPU snd/rcv ${fmt(x.cpuSender, 0)}%/${fmt(x.cpuReceiver, 0)}%  (switch to it: ${fmt(took / 1000, 2)} s)`,
      );
    }
  }
  return out;
}

function label(cfg: Config, nRules: number): string {
  return {
    none: 'same-net, no policy in the tenant',
    'pass-all': 'cross-net, pass-all (1 rule)',
    rules: `cross-net, ${nRules.toLocaleString('en')} rules, last matches`,
    'in-network': 'same-net, rules inside the network',
    elsewhere: 'same-net, rules only inside green',
  }[cfg];
}

/** Puts `p` in the wanted shape through the API and waits until every host enforces it. */
async function applyConfig(s: Stack, cfg: Config): Promise<void> {
  const c = s.rig.controller;
  if (cfg === 'none') {
    for (const n of s.attached) await c.updateNetwork(TENANT, n, { policies: [] });
    s.attached = [];
    await waitFor(() => noPolicyEverywhere(s), REALIZE_LIMIT_MS, 'no policy in force on every host', 20);
    return;
  }
  await applyPolicy(s, s.rules[cfg], cfg === 'elsewhere' ? [GREEN.name] : [RED.name, GREEN.name]);
}

/** `p` := `want`, attached to `nets` (red and green by default) and no other, realized on every host. */
async function applyPolicy(s: Stack, want: string[], nets = [RED.name, GREEN.name]): Promise<void> {
  const c = s.rig.controller;
  if (want !== s.current) {
    // Removals first, then additions: one change, one store revision, one realization to wait for.
    await c.updatePolicy(TENANT, POLICY, { removeRules: s.current.map((_, i) => i + 1), addRules: want });
    s.current = want;
  }
  for (const n of s.attached.filter((x) => !nets.includes(x))) await c.updateNetwork(TENANT, n, { policies: [] });
  for (const n of nets.filter((x) => !s.attached.includes(x))) await c.updateNetwork(TENANT, n, { policies: [POLICY] });
  s.attached = nets;
  await waitRealized(s);
  await waitFor(() => bridgesTracked(s, nets.includes(RED.name)), REALIZE_LIMIT_MS, `red's bridge ${nets.includes(RED.name) ? '' : 'un'}tracked on every host`, 20);
}

const waitRealized = (s: Stack) =>
  waitFor(async () => ((await s.rig.controller.getPolicy(TENANT, POLICY)).realization.realized ? true : undefined), REALIZE_LIMIT_MS, `policy ${POLICY} realized on every host`, 20);

/** br_netfilter off and a forward chain without the policy mark, in every tenant namespace. */
async function noPolicyEverywhere(s: Stack): Promise<true | undefined> {
  if (!(await bridgesTracked(s, false))) return undefined;
  for (const ns of s.tenantNs) if ((await forwardHash(ns))?.policy !== false) return undefined;
  return true;
}

/** Whether br_netfilter on red's bridge is `redTracked` on every host (docs/adr/013: per bridge), the namespace-wide switch off. */
async function bridgesTracked(s: Stack, redTracked: boolean): Promise<true | undefined> {
  for (const ns of s.tenantNs) {
    if ((await sh(inNs(ns, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']))).stdout.trim() !== '0') return undefined;
    const bridges = JSON.parse((await sh(['ip', '-n', ns, '-j', '-d', 'link', 'show', 'type', 'bridge'])).stdout) as { ifname: string; linkinfo: { info_data: { nf_call_iptables: number } } }[];
    const on = bridges.find((b) => b.ifname === s.redBridge)?.linkinfo.info_data.nf_call_iptables === 1;
    if (on !== redTracked) return undefined;
  }
  return true;
}

/** The ruleset hash in the forward chain's first rule, and whether it carries a policy. */
async function forwardHash(ns: string): Promise<{ hash: string; policy: boolean } | undefined> {
  const r = await shMaybe(inNs(ns, ['nft', 'list', 'chain', 'inet', 'tenet', 'forward']));
  const m = /comment "tenet:([0-9a-f]{16})( policy\/bridges)?"/.exec(r.stdout);
  return m ? { hash: m[1]!, policy: m[2] !== undefined } : undefined;
}

/** A 1 s iperf3 until one succeeds (the path may need its first ARP), bounded. */
async function warmUp(client: Side, server: Side): Promise<void> {
  let last = '';
  for (let i = 0; i < 5; i++) {
    try {
      await iperf(client, server, 1);
      return;
    } catch (err) {
      last = message(err);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`warm-up ${client.ns} -> ${server.ip} kept failing: ${last}`);
}

function reportThroughput(t: Tput, rounds: number, seconds: number, nRules: number): void {
  const g = (cfg: Config) => t.samples[cfg].map((x) => x.gbps);
  const rows = CONFIGS.map((cfg) => [label(cfg, nRules), medianRange(g(cfg)), fmt(median(t.samples[cfg].map((x) => x.retransmits)), 0), medianRange(t.switches[cfg].map((x) => x / 1000))]);
  console.log(`\nsingle-stream TCP c1 (h1) -> c2 or c3 (h2), ${rounds} round(s) of ${seconds} s, median [min–max]`);
  process.stdout.write(formatTable(['configuration', 'TCP Gbit/s', `retransmits/${seconds} s`, 'switch to it (API → realized), s'], rows));
  const ratioRow = (name: string, a: Config, b: Config) => {
    const within = g(a).map((x, i) => x / g(b)[i]!);
    return [name, fmt(median(g(a)) / median(g(b))), medianRange(within)];
  };
  process.stdout.write(
    formatTable(
      ['ratio', 'of medians', 'within each round'],
      [
        ratioRow(`1. ${nRules} rules / pass-all (THE ISSUE'S FIGURE, goal >= 0.95)`, 'rules', 'pass-all'),
        ratioRow(`1b. ${nRules} rules cross-net / no policy same-net`, 'rules', 'none'),
        ratioRow('   pass-all cross-net / no policy same-net', 'pass-all', 'none'),
        ratioRow('2. rules inside the network / no policy (goal >= 0.95)', 'in-network', 'none'),
        ratioRow('2b. rules only inside another network / no policy', 'elsewhere', 'none'),
      ],
    ),
  );
}

// ---- 3: policy update until enforced on every host ----

async function updateLatency(s: Stack, updates: number, nRules: number): Promise<void> {
  const base = updateBase(nRules, RED.src16, RED.name, GREEN.name);
  const t0 = now();
  await applyPolicy(s, base);
  console.log(`\n3. policy update: p holds ${nRules} rules (mixed shape); set up in ${fmt((now() - t0) / 1000, 2)} s`);
  const watches = s.tenantNs.map((ns) => new NftWatch(ns));
  s.cleanup.add('stop nft monitors', () => watches.forEach((w) => w.stop()));
  await new Promise((r) => setTimeout(r, 500)); // the monitors subscribe
  const all: number[] = [];
  const fromStart: number[] = [];
  const api: number[] = [];
  const realized: number[] = [];
  const perHost: number[][] = HOSTS.map(() => []);
  let failed = 0;
  for (let i = 1; i <= updates; i++) {
    s.cleanup.check();
    await new Promise((r) => setTimeout(r, 300));
    const before = await Promise.all(s.tenantNs.map((ns) => forwardHash(ns).then((h) => h?.hash)));
    const start = now();
    await s.rig.controller.updatePolicy(TENANT, POLICY, { removeRules: [nRules], addRules: [updateRule(i, RED.name, GREEN.name)] });
    const returned = now();
    api.push(returned - start);
    const seen = await waitFor(() => {
      const got = watches.map((w, h) => w.firstNewAfter(start, before[h]));
      return got.every((x) => x) ? got.map((x) => x!.t) : undefined;
    }, 30_000, `update ${i} enforced on every host`, 2).catch((err: unknown) => {
      failed++;
      console.error(`update ${i}: ${message(err)}`);
      return undefined;
    });
    if (!seen) continue;
    seen.forEach((t, h) => perHost[h]!.push(t - returned));
    all.push(Math.max(...seen) - returned);
    fromStart.push(Math.max(...seen) - start);
    await waitRealized(s);
    realized.push(now() - returned);
    if (i % 10 === 0) console.log(`${i}/${updates} updates`);
  }
  const { load: floor, empty } = await bareNftLoad(s, 10);
  console.log(`\npolicy update (${nRules}-rule policy, ${HOSTS.length} hosts), ${updates} updates 300 ms apart; nearest-rank percentiles; failures: ${failed}`);
  process.stdout.write(
    formatTable(LATENCY_HEADERS, [
      latencyRow('PATCH call (start → returned)', api, updates),
      latencyRow('returned → enforced on EVERY host (the goal: p99 <= 100 ms)', all, updates),
      latencyRow('call start → enforced on every host', fromStart, updates),
      ...HOSTS.map((h, j) => latencyRow(`  returned → enforced on ${h}`, perHost[j]!, updates)),
      latencyRow('returned → controller says realized everywhere', realized, updates),
      latencyRow('baseline: bare `nft -f` of h1\'s ruleset (one host, spawn incl.)', floor, 10),
      latencyRow('  its floor: `nft -f` of an empty script (spawn + nft start)', empty, 10),
    ]),
  );
  console.log(`ratio p50 enforced-everywhere / bare nft -f: ${fmt(percentile(all, 50) / median(floor))}`);
}

/**
 * Wall ms of `nft -f` loading h1's tenant ruleset (as listed) into a scratch namespace, `n`
 * times, and of `nft -f` with an empty script: what any process-per-change design pays.
 */
async function bareNftLoad(s: Stack, n: number): Promise<{ load: number[]; empty: number[] }> {
  const listed = await sh(inNs(s.tenantNs[0]!, ['nft', 'list', 'ruleset']));
  const scratch = `${s.rig.prefix}-scratch`;
  await sh(['ip', 'netns', 'add', scratch]);
  const script = `flush ruleset\n${listed.stdout}`;
  const load: number[] = [];
  const empty: number[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = now();
    await sh(inNs(scratch, ['nft', '-f', '-']), script);
    load.push(now() - t0);
    t0 = now();
    await sh(inNs(scratch, ['nft', '-f', '-']), '');
    empty.push(now() - t0);
  }
  console.log(`bare load: ${listed.stdout.split('\n').length} lines listed from ${s.tenantNs[0]}`);
  return { load, empty };
}
