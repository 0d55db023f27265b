/**
 * The benchmarks' own kernel work and probes: namespaces named by the benchmark's prefix,
 * commands inside them, and the two probes every figure rests on (a bounded "answers ping
 * yet?" wait and a ping RTT). Traffic only ever goes to addresses inside namespaces the
 * benchmark made.
 */
import { spawn } from 'node:child_process';
import { ExecRunner, type CommandResult } from '../../src/datapath/runner.js';
import { deleteNamespaces, listNamespaces } from '../../src/lab/netns.js';

export const runner = new ExecRunner();

export const sh = (argv: string[], input?: string): Promise<CommandResult> => runner.run(argv, { input });
export const shMaybe = (argv: string[], input?: string): Promise<CommandResult> => runner.run(argv, { input, allowFail: true });
export const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

export const now = (): number => performance.now();

/** Adds namespaces with loopback up, in two processes whatever their number. */
export async function addNamespaces(names: string[]): Promise<void> {
  await sh(['ip', '-batch', '-'], names.map((n) => `netns add ${n}\n`).join(''));
  await Promise.all(names.map((n) => sh(['ip', '-n', n, 'link', 'set', 'lo', 'up'])));
}

/** Every namespace whose name starts with `${prefix}-`: what a benchmark removes at the end. */
export async function deleteByPrefix(prefix: string): Promise<string[]> {
  const mine = (await listNamespaces(runner)).filter((n) => n.startsWith(`${prefix}-`));
  await deleteNamespaces(runner, mine);
  return mine;
}

/** br_netfilter off in a namespace that bridges, as Tenet does in its tenant namespaces. */
export const NO_BRNF = ['net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'];

/**
 * The probe's ARP retransmit at 10 ms instead of the kernel's 1 s. An ARP request sent
 * before the far side has converged is otherwise retried only a second later, which would
 * quantize every "reachable after" figure to whole seconds. This changes the measuring
 * instrument only; the attached namespaces keep the kernel defaults.
 */
export async function fastArp(ns: string, dev = 'eth0'): Promise<void> {
  await sh(inNs(ns, ['sysctl', '-q', '-w', `net.ipv4.neigh.${dev}.retrans_time_ms=10`]));
}

/**
 * Milliseconds from `t0` until `ip` answers one ping from `ns`, or undefined after
 * `limitMs`. One ping process sends every 10 ms until the first reply or its deadline
 * (`-c1 -w`), so the figure has ~10 ms resolution and usually costs one spawn; a ping that
 * gives up early (no route yet) is started again, at most 100 times.
 */
export async function waitReachable(ns: string, ip: string, t0: number, limitMs = 5000): Promise<number | undefined> {
  for (let i = 0; i < 100; i++) {
    const left = limitMs - (now() - t0);
    if (left <= 0) return undefined;
    const r = await shMaybe(inNs(ns, ['ping', '-n', '-q', '-c1', '-i', '0.01', '-w', String(Math.ceil(left / 1000)), ip]));
    const t = now() - t0;
    if (r.code === 0) return t <= limitMs ? t : undefined;
    await new Promise((res) => setTimeout(res, 10));
  }
  return undefined;
}

/** Average RTT in ms of `ping -c 20 -i 0.05 -q` (at most 10 s), after one warm-up ping. */
export async function pingRtt(ns: string, ip: string): Promise<number> {
  await shMaybe(inNs(ns, ['ping', '-n', '-c1', '-W1', ip]));
  const r = await sh(inNs(ns, ['ping', '-n', '-c', '20', '-i', '0.05', '-w', '10', '-q', ip]));
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  if (!m) throw new Error(`no RTT in ping output: ${r.stdout.trim()}`);
  return Number(m[1]);
}

/** The cost of the instrument itself: wall ms of each of `n` node spawns of `argv`. */
export async function spawnFloor(argv: string[], n = 20): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await shMaybe(argv);
    out.push(now() - t0);
  }
  return out;
}

const running = new Set<() => void>();

/** Kills every background command still running (a cleanup step: Ctrl-C during iperf3). */
export function stopBackground(): void {
  running.forEach((stop) => stop());
}

/** Starts a long-running command in the background; `stop()` kills exactly that PID. */
export function background(argv: string[]): { output: () => string; exited: Promise<number>; stop: () => void } {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  };
  running.add(stop);
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code) => resolve(code ?? 1));
    child.once('error', () => resolve(127));
  }).finally(() => running.delete(stop));
  return { output: () => out, exited, stop };
}
