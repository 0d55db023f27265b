/**
 * Control plane at scale (issue 6): one real controller process with the SQLite store (or,
 * with --store etcd, issue 11: --controllers replicas on a 3-member etcd of the run's own,
 * the agent processes split across them),
 * simulated agents (the real Agent of the tree under test on a fake kernel, many per process),
 * and figures for what one change costs as hosts and endpoints grow. Nothing is asserted.
 *
 *   node dist/bench/scale.js [--hosts 1000 --endpoints 100000 --tenants 1000 --seconds 60]
 *        [--tree DIR] [--procs 4] [--changes 50] [--attaches 30] [--width 32]
 *        [--store sqlite|etcd] [--controllers 2] [--json FILE (the headline figures)]
 *
 * Phases: (1) attach latency on a fresh empty controller; (2) a second controller, filled
 * through its API (population.ts); (3) the agents start and list; (4) a window of --seconds
 * with --changes marker endpoints spread over it: fan-out time to the concerned agents, and
 * what uninvolved agents receive; (5) attach latency at scale; (6) full re-lists of agents.
 * Controller RSS/CPU is sampled from /proc throughout. See docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../src/base/async.js';
import { intArg, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { measureAttaches } from './scale/attach-probe.js';
import { startTreeController, type RunningController, type StoreChoice } from './scale/controller.js';
import { writeScaleSummary } from './lib/scale-summary.js';
import { hostsConcerned, planMarkers, runMarkers } from './scale/markers.js';
import { hostVtep, populate } from './scale/populate.js';
import { describe, planPopulation, tenantsOfHost, type Population } from './scale/population.js';
import { readProc, Sampler } from './scale/procstat.js';
import { printAttach, printFanout, printPhases, printRelists, printSims, printUninvolved, type Phase } from './scale/report.js';
import { SimAgents } from './scale/sims.js';
import { loadTree, THIS_TREE } from './scale/tree.js';

const hosts = intArg('hosts', 1000, 5000);
const endpoints = intArg('endpoints', 100_000, 1_000_000);
const tenants = intArg('tenants', 1000, 100_000);
const seconds = intArg('seconds', 60, 3600);
const procs = intArg('procs', 4, 32);
const changes = intArg('changes', 50, 1000);
const attaches = intArg('attaches', 30, 1000);
const width = intArg('width', 32, 256);
const populateMinutes = intArg('populate-minutes', 15, 120);
const maxRssMiB = intArg('max-rss-mib', 8192, 1 << 20);
const simHeapMiB = intArg('sim-heap-mib', 4096, 1 << 20);
const treeArg = process.argv.indexOf('--tree');
const treeDir = treeArg >= 0 ? process.argv[treeArg + 1]! : THIS_TREE;
const storeChoice = parseStore();
const jsonArg = process.argv.indexOf('--json');
const jsonPath = jsonArg >= 0 ? process.argv[jsonArg + 1] : undefined;

runBench('scale', async (cleanup) => {
  const tree = await loadTree(treeDir);
  const pop = planPopulation(hosts, endpoints, tenants);
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-scale-'));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  console.log(`tree under test: ${tree.dir}\nstore: ${storeChoice.store}, ${storeChoice.replicas} controller(s)\nscale: ${hosts} hosts, ${endpoints} endpoints, ${tenants} tenants; window ${seconds} s; ${procs} agent processes; data in ${dir}`);
  for (const l of describe(pop)) console.log(`  ${l}`);
  const big = pop.tenants[0]!; // attaches go to the largest tenant's network, empty and full

  const empty = await startTreeController(tree, dir, 'empty', cleanup, storeChoice);
  await empty.client.createTenant(big.name);
  await empty.client.createNetwork(big.name, { name: 'net', subnet: big.subnet });
  const attachEmpty = await measureAttaches(tree, empty.socket, big.name, attaches, 30_000_000);
  await empty.stop();
  console.log(`attach on an empty controller: ${attaches} done, p50 ${attachEmpty.ms.length ? [...attachEmpty.ms].sort((a, b) => a - b)[attachEmpty.ms.length >> 1]!.toFixed(1) : '-'} ms`);

  const ctl = await startTreeController(tree, dir, 'ctl', cleanup, storeChoice);
  const sampler = new Sampler(ctl.pid);
  cleanup.add('stop sampling', () => sampler.stop());
  const phases: Phase[] = [];
  const mark = (name: string, from: number) => phases.push({ name, figures: sampler.phase(from, Date.now()) });

  let t = Date.now();
  const pops = await populate(ctl.client, pop, width, populateMinutes * 60_000, cleanup);
  sampler.sample();
  mark('populate (API)', t);
  console.log(`populated ${pops.endpoints} endpoints: hosts ${s(pops.hostsMs)}, tenants+networks ${s(pops.tenantsMs)}, endpoints ${s(pops.endpointsMs)} (${rate(pops.endpoints, pops.endpointsMs)}), status up ${s(pops.statusMs)}`);

  const markers = planMarkers(pop, changes);
  const involved = hostsConcerned(markers);
  const uninvolved = pop.hosts.filter((h) => !involved.has(h));
  const probes = [...uninvolved.slice(0, 20), ...[...involved].slice(0, 5)];
  const sims = new SimAgents(procs, simHeapMiB, cleanup);
  const watchdog = () => checkBounds(ctl, sims);
  t = Date.now();
  sims.start(tree.dir, ctl.sockets, pop.hosts.map((name, i) => ({ name, vtep: hostVtep(i) })), probes, 16);
  await waitListed(sims, pop, cleanup, watchdog);
  const listedMs = Date.now() - t;
  await sleep(5000); // first reconciles and realization reports settle
  sampler.sample();
  mark('agents start and list', t);
  const retries = [...sims.listed.values()].reduce((a, l) => a + l.retries, 0);
  const firstList = [...sims.listed.values()].map((l) => l.bytes);
  console.log(`all ${hosts} agents listed in ${s(listedMs)} (16 starting at a time per process; ${retries} starts failed and were retried); first list ${Math.round(Math.min(...firstList) / 1024)}–${Math.round(Math.max(...firstList) / 1024)} KiB per agent`);

  t = Date.now();
  sims.broadcast({ cmd: 'window' });
  const fanout = await runMarkers(ctl.client, sims, markers, seconds * 1000, cleanup, watchdog);
  const counters = await sims.counters();
  const windowS = (Date.now() - t) / 1000;
  sampler.sample();
  mark(`steady window with ${changes} changes`, t);

  console.log('');
  printFanout(fanout);
  printUninvolved(counters, uninvolved, probes, windowS);

  // Past the window, a phase that breaks is reported and the run goes on to print the rest.
  t = Date.now();
  const attachFull = await tolerate('attach at scale', () => measureAttaches(tree, ctl.socket, big.name, attaches, 40_000_000));
  mark(`${attaches} attaches at scale`, t);
  if (attachFull) printAttach(attachEmpty, attachFull, big.name, big.endpoints);

  t = Date.now();
  const relists = await tolerate('re-lists', () => relistSome(sims, pop, cleanup));
  sampler.sample();
  mark('re-lists', t);
  if (relists) printRelists(relists);

  printPhases(phases, sampler);
  printSims(sims.rss(), hosts);
  if (sims.failures.length) console.log(`simulated agent failures: ${sims.failures.slice(0, 5).join('; ')}`);
  if (jsonPath) writeScaleSummary(jsonPath, { store: storeChoice, pops, listedMs, fanout, attachEmpty, attachFull, relists, phases });
  printReproduce('scale', process.argv.slice(2).join(' '));
});

/** `--store sqlite` (default) or `--store etcd [--controllers N]` (default 2 replicas). */
function parseStore(): StoreChoice {
  const i = process.argv.indexOf('--store');
  const store = i >= 0 ? process.argv[i + 1] : 'sqlite';
  if (store !== 'sqlite' && store !== 'etcd') {
    console.error(`--store wants sqlite or etcd, got ${JSON.stringify(store)}`);
    process.exit(2);
  }
  return { store, replicas: store === 'etcd' ? intArg('controllers', 2, 5) : 1 };
}

async function tolerate<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    console.log(`broke: ${what}: ${(err as Error).message}\n`);
    return undefined;
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000))}/s`;

/** A run that outgrows the machine stops with a message saying where, instead of swapping it to death. */
function checkBounds(ctl: RunningController, sims: SimAgents): void {
  if (ctl.exited()) throw new Error('broke: the controller process exited (see its log in the data dir)');
  if (sims.failures.length) throw new Error(`broke: ${sims.failures[0]}`);
  const rss = readProc(ctl.pid);
  if (rss && rss.rssMiB > maxRssMiB) throw new Error(`broke: controller RSS ${Math.round(rss.rssMiB)} MiB over the bound ${maxRssMiB} MiB`);
  const simTotal = sims.rss().reduce((a, r) => a + (Number.isFinite(r.now) ? r.now : 0), 0);
  if (simTotal > 14_000) throw new Error(`broke: simulated agents hold ${Math.round(simTotal)} MiB together (bound 14,000)`);
}

async function waitListed(sims: SimAgents, pop: Population, cleanup: Cleanup, watchdog: () => void): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  let shown = 0;
  while (sims.listed.size < pop.hosts.length) {
    cleanup.check();
    watchdog();
    if (Date.now() > deadline) throw new Error(`broke: only ${sims.listed.size} of ${pop.hosts.length} agents listed within 15 min`);
    if (sims.listed.size >= shown + 100) console.log(`  agents listed: ${(shown = sims.listed.size)}`);
    await sleep(200);
  }
}

/** Re-lists of three agents: the host with fewest tenants, the median one and the busiest. */
async function relistSome(sims: SimAgents, pop: Population, cleanup: Cleanup) {
  const byLoad = [...tenantsOfHost(pop).entries()].sort((a, b) => a[1].length - b[1].length);
  const picks = [byLoad[0]!, byLoad[byLoad.length >> 1]!, byLoad[byLoad.length - 1]!];
  const out = [];
  for (const [host, ts] of picks) {
    cleanup.check();
    const r = await Promise.race([sims.relist(host), sleep(120_000).then(() => ({ ms: NaN, bytes: NaN }))]);
    out.push({ host, tenants: ts.length, ...r });
  }
  return out;
}
