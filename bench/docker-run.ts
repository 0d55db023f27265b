/**
 * `docker run --rm --net=X busybox true` (issue 8): X a Tenet network, against `--net=none`,
 * a Docker user-defined bridge network and the "floor": a network of the least remote driver
 * there can be (bench/lib/floor-driver.ts), in the same run on the same private dockerd,
 * rounds rotated so no kind always follows the same other one. Each run is timed from the
 * CLI's start to its exit (create, plugin calls, start, `true`, stop, plugin cleanup, remove).
 * The Tenet agent logs each plugin call's duration at debug level; their medians per run
 * show where Tenet's share of the time goes. floor − none is what Docker spends on any remote
 * driver's network (docs/benchmarks.md "Docker"); tenet − floor is Tenet's own share. Figures
 * are printed, never asserted.
 *
 * It runs itself inside a private mount namespace with a tmpfs over /run/docker/plugins, so
 * its dockerd finds only its own agent's `tenet` plugin, and no other dockerd finds it; and
 * a tmpfs over /run/tenet, for its agent's namespace marks (see TENET_RUN).
 *
 *   node dist/bench/docker-run.js [--runs 30] [--empty] [--keep-log]
 *   --empty: no resident container on the networks; --keep-log: copy the agent's debug log to the temp dir
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../src/base/async.js';
import { formatTable } from '../src/base/table.js';
import { TENET_ENTRY } from '../src/lab/config.js';
import { BUSYBOX_IMAGE, PrivateDockerd } from './lib/dockerd.js';
import { FLOOR_DRIVER, startFloorDriver } from './lib/floor-driver.js';
import { deleteByPrefix, now } from './lib/kernel.js';
import { intArg, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { fmt, LATENCY_HEADERS, latencyRow, median, percentiles, type Percentiles } from './lib/stats.js';
import { stopChild } from './lib/tenet.js';

const run = promisify(execFile);
const PRIVATE_MARK = 'TENET_BENCH_PRIVATE_PLUGINS';
const PLUGIN_DIR = '/run/docker/plugins';
/**
 * Where agents mark the namespaces they made (/run/tenet/netns-owned): ours must be private
 * too. Our namespaces (/run/netns) are only visible in our mount namespace, and an agent
 * outside it that saw our marks would take them for marks of vanished namespaces and delete
 * them; our agent would then refuse its own tenant namespace ("Tenet did not make it").
 */
const TENET_RUN = '/run/tenet';

if (!process.env[PRIVATE_MARK]) reExecInPrivateMounts();
else runBench('docker-run', body);

/** Runs this script again in a new mount namespace whose /run/docker/plugins is its own. */
function reExecInPrivateMounts(): void {
  if (process.getuid?.() !== 0) {
    console.error('docker-run: must run as root (it runs its own dockerd); try: sudo node dist/bench/docker-run.js');
    process.exit(1);
  }
  for (const d of [PLUGIN_DIR, TENET_RUN]) mkdirSync(d, { recursive: true });
  const script = `mount -t tmpfs tenet-bench ${PLUGIN_DIR} && mount -t tmpfs tenet-bench ${TENET_RUN} && exec "$0" "$@"`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [PRIVATE_MARK]: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}

interface Kind {
  name: string;
  net: string;
  times: number[];
  failures: string[];
}

async function body(cleanup: Cleanup): Promise<void> {
  const runs = intArg('runs', 30, 1000);
  const empty = process.argv.includes('--empty');
  printReproduce('docker-run', `--runs ${runs}${empty ? ' --empty' : ''}`);
  console.log(empty ? 'no other container on the networks' : 'one resident container on the Tenet, the bridge and the floor network');
  const dockerd = new PrivateDockerd();
  cleanup.add('stop dockerd', () => dockerd.stop());
  await dockerd.start();
  await dockerd.importBusybox();
  const tenet = await startTenet(dockerd, cleanup);
  const floor = await startFloorDriver(join(PLUGIN_DIR, `${FLOOR_DRIVER}.sock`), '10.233.0.0/16');
  cleanup.add('stop the floor driver', () => new Promise((r) => {
    floor.close(r);
    floor.closeAllConnections();
  }));
  const docker = (...a: string[]) => dockerd.docker(...a);
  cleanup.add('remove the benchmark networks', async () => {
    await docker('rm', '-f', 'resident-red', 'resident-bench-bridge', 'resident-floor').catch(() => undefined);
    await docker('network', 'rm', 'red', 'bench-bridge', 'floor').catch(() => undefined);
  });

  await tenet.cli('tenant', 'create', 'bench');
  // Every Tenet on this machine shares the host's VXLAN port: a VNI of our own, not the first automatic one.
  const vni = 300_000 + randomBytes(2).readUInt16BE();
  await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '10.231.0.0/24', '-o', 'tenant=bench', '-o', `vni=${vni}`, 'red');
  // dockerd never names a network to its driver: the Tenet network is made by the sync a moment later.
  await waitFor(async () => (await tenet.cli('-o', 'json', 'net', 'ls')).includes('"red"') || undefined, 15_000, 'the Tenet network red', 100);
  // --bridge=none only drops the default docker0; a user-defined bridge network still works.
  await docker('network', 'create', '-d', 'bridge', '--subnet', '10.232.0.0/24', 'bench-bridge');
  await docker('network', 'create', '-d', FLOOR_DRIVER, '--ipam-driver', FLOOR_DRIVER, '--subnet', '10.233.0.0/16', 'floor');

  const kinds: Kind[] = [
    { name: 'none (--net=none)', net: 'none', times: [], failures: [] },
    { name: `floor (least remote driver)`, net: 'floor', times: [], failures: [] },
    { name: 'bridge (user-defined)', net: 'bench-bridge', times: [], failures: [] },
    { name: 'tenet (--net=red)', net: 'red', times: [], failures: [] },
  ];
  // A resident container on each network, as on any host in use: without one, every Tenet run
  // also builds and removes the tenant's namespace (Join/Leave of the tenant's only endpoint).
  if (!empty) {
    for (const net of ['red', 'bench-bridge', 'floor']) await docker('run', '-d', `--name=resident-${net}`, `--net=${net}`, BUSYBOX_IMAGE, 'sleep', '1d');
  }
  for (const k of kinds) await docker('run', '--rm', `--net=${k.net}`, BUSYBOX_IMAGE, 'true'); // warm-up, not timed
  const started = now();
  for (let i = 0; i < runs; i++) {
    cleanup.check();
    for (let j = 0; j < kinds.length; j++) await timeOne(dockerd, kinds[(i + j) % kinds.length]!);
    if ((i + 1) % 10 === 0) console.log(`${i + 1}/${runs} rounds, ${fmt((now() - started) / 1000, 1)} s`);
  }
  report(runs, kinds);
  printPluginCalls(tenet.log, runs + 1);
  if (process.argv.includes('--keep-log')) {
    const kept = join(tmpdir(), `tenet-docker-run-${Date.now()}.log`);
    copyFileSync(tenet.log, kept);
    console.log(`the agent's debug log is kept in ${kept}`);
  }
}

async function timeOne(dockerd: PrivateDockerd, k: Kind): Promise<void> {
  const t0 = now();
  try {
    await dockerd.docker('run', '--rm', `--net=${k.net}`, BUSYBOX_IMAGE, 'true');
    k.times.push(now() - t0);
  } catch (err) {
    // The CLI's own complaint (its stderr line with "Error"), not the "Command failed" line.
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    k.failures.push(stderr.split('\n').find((l) => /error/i.test(l)) ?? (err as Error).message.split('\n')[0]!);
  }
}

/** `tenet up --docker` (controller and agent in one process) on the private dockerd, debug log to a file. */
async function startTenet(dockerd: PrivateDockerd, cleanup: Cleanup) {
  const prefix = `bdk${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `tenet-bench-${prefix}-`));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  cleanup.add(`delete namespaces ${prefix}-*`, () => deleteByPrefix(prefix));
  const log = join(dir, 'tenet.log');
  const fd = openSync(log, 'a');
  const args = ['up', '--data-dir', join(dir, 'data'), '--socket', join(dir, 'ctl.sock'), '--agent-socket', join(dir, 'agent.sock'), '--host', prefix, '--ns-prefix', `${prefix}-`,
    '--state-dir', join(dir, 'agent-state'), '--cni-socket', join(dir, 'cni.sock'), '--docker', '--docker-socket', dockerd.socket, '--docker-plugin-socket', join(PLUGIN_DIR, 'tenet.sock')];
  const child = spawn(process.execPath, [TENET_ENTRY, ...args], { stdio: ['ignore', fd, fd], env: { ...process.env, TENET_LOG_LEVEL: 'debug' } });
  closeSync(fd);
  cleanup.add(`stop tenet up pid ${child.pid}`, () => stopChild(child));
  await waitFor(() => (child.exitCode !== null ? Promise.reject(new Error(`tenet up exited: ${readFileSync(log, 'utf8').slice(-1500)}`)) : readFileSync(log, 'utf8').includes('tenet is up') || undefined), 30_000, 'tenet up', 100);
  const env = { ...process.env, TENET_API: `unix:${join(dir, 'ctl.sock')}`, TENET_AGENT: `unix:${join(dir, 'agent.sock')}` };
  const cli = async (...a: string[]) => (await run(process.execPath, [TENET_ENTRY, ...a], { env, timeout: 30_000 })).stdout;
  console.log(`tenet up pid ${child.pid} (log ${log}), dockerd on ${dockerd.socket}`);
  return { cli, log };
}

function report(runs: number, kinds: Kind[]): void {
  console.log(`\ndocker run --rm --net=X ${BUSYBOX_IMAGE} true, ${runs} runs each, rotated; nearest-rank percentiles`);
  process.stdout.write(formatTable(LATENCY_HEADERS, kinds.map((k) => latencyRow(k.name, k.times, runs))));
  const [none, floor, bridge, tenet] = kinds.map((k) => percentiles(k.times)) as Percentiles[];
  console.log(`\ntenet − none: p50 ${fmt(tenet!.p50 - none!.p50, 0)} ms, p99 ${fmt(tenet!.p99 - none!.p99, 0)} ms   (goal: ≤ 100 ms at p50)`);
  console.log(`floor − none: p50 ${fmt(floor!.p50 - none!.p50, 0)} ms, p99 ${fmt(floor!.p99 - none!.p99, 0)} ms   (what Docker spends on any remote driver's network: the goal's floor)`);
  console.log(`tenet − floor: p50 ${fmt(tenet!.p50 - floor!.p50, 0)} ms   (Tenet's own share)`);
  console.log(`tenet / floor: p50 ${fmt(tenet!.p50 / floor!.p50)}, p99 ${fmt(tenet!.p99 / floor!.p99)}`);
  console.log(`tenet / bridge: p50 ${fmt(tenet!.p50 / bridge!.p50)}, p99 ${fmt(tenet!.p99 / bridge!.p99)}   (goal: ≤ 1.1 at p50)`);
  console.log(`bridge − none: p50 ${fmt(bridge!.p50 - none!.p50, 0)} ms (what Docker's own driver adds)`);
  for (const k of kinds) if (k.failures.length) console.log(`failures ${k.name}: ${k.failures.length}, first: ${k.failures[0]}`);
}

/** Median duration of each plugin call dockerd made, from the agent's debug log (one container ≈ one of each). */
function printPluginCalls(log: string, containers: number): void {
  const calls = new Map<string, number[]>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('"docker plugin call"')) continue;
    const { call, ms } = JSON.parse(line) as { call: string; ms?: number };
    if (ms !== undefined) calls.set(call, [...(calls.get(call) ?? []), ms]);
  }
  const rows = [...calls].filter(([, xs]) => xs.length >= containers).map(([call, xs]) => [call, xs.length, fmt(median(xs), 1), fmt(percentiles(xs).p99, 1)]);
  const perRun = rows.reduce((s, r) => s + Number(r[2]), 0);
  console.log(`\nTenet plugin calls per container (agent debug log), inside the tenet figure:`);
  process.stdout.write(formatTable(['call', 'n', 'p50 ms', 'p99 ms'], rows));
  console.log(`sum of the p50s: ${fmt(perRun, 1)} ms per docker run`);
}
