/**
 * The CNI plugin's cost (issue 9). Part 1: ADD and DEL latency, p50/p99 over --count fresh
 * namespaces, of the `tenet` executable `tenet cni install` writes (the C forwarder, or a shell script over curl
 * to a real agent process of a lab host) against Debian's reference `bridge` + `host-local`
 * in the same run, interleaved call by call so both see the same load. Each plugin is started
 * the same way, `nsenter --net=<its host namespace> <plugin>` with the CNI environment and the
 * config on stdin, and timed from spawn to exit; then the agent alone (an HTTP POST to its CNI
 * socket) on count/4 more namespaces, to show what the executable costs. Part 2: `podman run --rm --network red
 * busybox true` against `--network none` (--runs, rotated), on a private podman in the lab
 * host's namespace (test/support/podman.ts). Figures are printed, never asserted.
 *
 *   node dist/bench/cni.js [--count 200] [--runs 30] [--no-podman]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { formatTable } from '../src/base/table.js';
import { installCni } from '../src/cni/install.js';
import { labCniSocket } from '../src/lab/config.js';
import { CniBridge, ensureCniPlugins } from './lib/cni.js';
import { addNamespaces, now } from './lib/kernel.js';
import { intArg, printReproduce, runBench, type Cleanup } from './lib/main.js';
import { ensurePodman, PODMAN_IMAGE, PrivatePodman } from './lib/podman.js';
import { fmt, LATENCY_HEADERS, latencyRow, percentiles } from './lib/stats.js';
import { NETWORK, startRig, TENANT, type Rig } from './lib/tenet.js';

runBench('cni', body);

async function body(cleanup: Cleanup): Promise<void> {
  const count = intArg('count', 200, 500);
  const runs = intArg('runs', 30, 500);
  const podman = !process.argv.includes('--no-podman');
  printReproduce('cni', `--count ${count} --runs ${runs}${podman ? '' : ' --no-podman'}`);
  await ensureCniPlugins();
  if (podman) await ensurePodman();
  const rig = await startRig('bcni', 1, '10.233.0.0/23', cleanup);
  const host = rig.lab.state().hosts[0]!;
  const [plugin] = installCni({ binDir: join(rig.dir, 'cni-bin'), confDir: join(rig.dir, 'net.d'), socket: labCniSocket(host), networks: [{ tenant: TENANT, name: NETWORK }] }).files;
  const tenet = { argv: ['nsenter', `--net=/run/netns/${host.netns}`, plugin!], conf: JSON.stringify({ cniVersion: '1.0.0', name: `${NETWORK}.${TENANT}`, type: 'tenet', tenant: TENANT, network: NETWORK }) };
  const ref = new CniBridge(rig.prefix, rig.dir, '10.234.0.0/23');
  await ref.createHost();
  await addDel(rig, count, tenet, ref);
  await agentOnly(rig, Math.max(1, Math.floor(count / 4)), labCniSocket(host), tenet.conf);
  if (podman) await podmanRuns(rig, runs, cleanup);
}

/** ADD into each of `count` namespaces (Tenet, then the reference, per namespace), then DEL each. */
async function addDel(rig: Rig, count: number, tenet: { argv: string[]; conf: string }, ref: CniBridge): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `${rig.prefix}-c${i}`);
  await addNamespaces(names.flatMap((n) => [`${n}t`, `${n}r`]));
  const t = { add: [] as number[], del: [] as number[] };
  const r = { add: [] as number[], del: [] as number[] };
  const timed = async (xs: number[], fn: () => Promise<unknown>) => {
    const t0 = now();
    await fn();
    xs.push(now() - t0);
  };
  await callTenet(tenet, 'ADD', 'warmup', `/run/netns/${names[0]}t`).then(() => callTenet(tenet, 'DEL', 'warmup', `/run/netns/${names[0]}t`)); // not timed
  for (const [i, n] of names.entries()) {
    await timed(t.add, () => callTenet(tenet, 'ADD', `t${i}`, `/run/netns/${n}t`));
    await timed(r.add, () => ref.add(`r${i}`, `${n}r`));
  }
  for (const [i, n] of names.entries()) {
    await timed(t.del, () => callTenet(tenet, 'DEL', `t${i}`, `/run/netns/${n}t`));
    await timed(r.del, () => ref.del(`r${i}`, `${n}r`));
  }
  console.log(`\nCNI ADD and DEL, ${count} namespaces each, interleaved; each plugin started as nsenter --net=<host ns> PLUGIN; nearest-rank percentiles`);
  const rows = [latencyRow('tenet ADD', t.add, count), latencyRow('bridge+host-local ADD', r.add, count), latencyRow('tenet DEL', t.del, count), latencyRow('bridge+host-local DEL', r.del, count)];
  process.stdout.write(formatTable(LATENCY_HEADERS, rows));
  const [ta, ra, td, rd] = [t.add, r.add, t.del, r.del].map(percentiles) as [ReturnType<typeof percentiles>, ReturnType<typeof percentiles>, ReturnType<typeof percentiles>, ReturnType<typeof percentiles>];
  console.log(`tenet / reference ADD: p50 ${fmt(ta.p50 / ra.p50)}, p99 ${fmt(ta.p99 / ra.p99)}   (goal: ≤ 1.5 at p50)`);
  console.log(`tenet / reference DEL: p50 ${fmt(td.p50 / rd.p50)}, p99 ${fmt(td.p99 / rd.p99)}   (goal: ≤ 1.0 at p50)`);
}

/**
 * Where Tenet's time goes: the same ADD and DEL as one HTTP POST from this process straight to
 * the agent's CNI socket (no sh, no curl, no nsenter), on count/4 more namespaces. The
 * executable's share is the difference from the rows above.
 */
async function agentOnly(rig: Rig, count: number, socket: string, conf: string): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `${rig.prefix}-d${i}`);
  await addNamespaces(names);
  const add: number[] = [];
  const del: number[] = [];
  for (const [command, xs] of [['ADD', add], ['DEL', del]] as const) {
    for (const [i, n] of names.entries()) {
      const t0 = now();
      await post(socket, { CNI_COMMAND: command, CNI_CONTAINERID: `d${i}`, CNI_NETNS: `/run/netns/${n}`, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1' }, conf);
      xs.push(now() - t0);
    }
  }
  console.log(`
the agent alone: the same calls as one HTTP POST from the benchmark to its CNI socket, ${count} namespaces`);
  process.stdout.write(formatTable(LATENCY_HEADERS, [latencyRow('agent ADD', add, count), latencyRow('agent DEL', del, count)]));
}

function post(socket: string, query: Record<string, string>, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/v1/cni?${new URLSearchParams(query)}`, headers: { 'content-type': 'application/json' }, timeout: 60_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`agent ${query.CNI_COMMAND}: ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function callTenet(tenet: { argv: string[]; conf: string }, command: 'ADD' | 'DEL', id: string, netns: string): Promise<void> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1', CNI_PATH: '/usr/lib/cni' };
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = tenet.argv;
    const child = spawn(cmd!, args, { env, timeout: 60_000 });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tenet CNI ${command} ${id} failed (exit ${code}): ${out.trim()}`))));
    child.stdin.end(tenet.conf);
  });
}

/** `podman run --rm --network X busybox true`, X the Tenet network and none, rotated. */
async function podmanRuns(rig: Rig, runs: number, cleanup: Cleanup): Promise<void> {
  const host = rig.lab.state().hosts[0]!;
  const podman = new PrivatePodman({ netns: host.netns, binDir: join(rig.dir, 'cni-bin'), confDir: join(rig.dir, 'net.d') });
  cleanup.add(`remove the private podman ${podman.dir}`, () => podman.destroy());
  await podman.importBusybox();
  const net = `${NETWORK}.${TENANT}`;
  // A resident container keeps the tenant's namespace up, as on a host in use.
  await podman.podman('run', '-d', '--name', 'resident', '--network', net, PODMAN_IMAGE, 'sleep', '1d');
  const kinds = [
    { name: `tenet (--network ${net})`, net, times: [] as number[], failures: [] as string[] },
    { name: 'none (--network none)', net: 'none', times: [] as number[], failures: [] as string[] },
  ];
  for (const k of kinds) await podman.podman('run', '--rm', '--network', k.net, PODMAN_IMAGE, 'true'); // warm-up
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = kinds[(i + j) % kinds.length]!;
      const t0 = now();
      try {
        await podman.podman('run', '--rm', '--network', k.net, PODMAN_IMAGE, 'true');
        k.times.push(now() - t0);
      } catch (err) {
        k.failures.push((err as Error).message.split('\n')[0]!);
      }
    }
  }
  console.log(`\npodman run --rm --network X ${PODMAN_IMAGE} true, ${runs} runs each, rotated (podman in the lab host's namespace, runc, vfs)`);
  process.stdout.write(formatTable(LATENCY_HEADERS, kinds.map((k) => latencyRow(k.name, k.times, runs))));
  const [t, n] = kinds.map((k) => percentiles(k.times)) as [ReturnType<typeof percentiles>, ReturnType<typeof percentiles>];
  console.log(`tenet − none: p50 ${fmt(t.p50 - n.p50, 0)} ms, p99 ${fmt(t.p99 - n.p99, 0)} ms`);
  for (const k of kinds) if (k.failures.length) console.log(`failures ${k.name}: ${k.failures.length}, first: ${k.failures[0]}`);
}
