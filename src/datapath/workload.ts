/**
 * The workload side of a port, read back and repaired on a full reconcile (issue #5: after
 * `ip addr flush dev eth0` inside a workload and an agent restart nothing was restored and the
 * status stayed up). One `nsenter --net=PATH ip -j -d -batch -` per workload namespace reads
 * its links and its default routes (two JSON arrays, one per line); the reads run in parallel.
 * Targeted calls keep ADR 002's fast path and read nothing.
 *
 * What is repaired: the interface's MAC, MTU and link state, a missing address (other
 * addresses are the user's and stay; the port pinning drops their traffic anyway), and eth0's
 * default route. An interface that is gone while the tenant side exists (renamed, moved away)
 * gets its port re-created. One that is not a veth is somebody else's: it is not touched, and
 * the endpoint reports the reason as an error.
 *
 * Only namespaces whose identity the agent confirmed are in the plan (agent/workload-check.ts).
 */
import { newPort, type TenantSteps } from './diff.js';
import type { PortPlan, TenantPlan } from './plan.js';
import type { CommandRunner } from './runner.js';
import type { TenantState } from './state.js';

export interface WorkloadIface {
  name: string;
  kind: string;
  mtu: number;
  mac: string;
  up: boolean;
  addrs: string[];
}

export interface WorkloadState {
  ifaces: Map<string, WorkloadIface>;
  /** Default routes: "GATEWAY dev IFNAME". */
  defaults: string[];
}

/** What a full reconcile does about one existing port's workload end. */
export type WorkloadVerdict = { kind: 'ok' } | { kind: 'fix'; commands: string[] } | { kind: 'recreate' } | { kind: 'problem'; why: string };

/** The script of the one read per workload namespace. */
export const WORKLOAD_READ = 'addr show\nroute show default\n';

export const workloadReadArgv = (netns: string): string[] => ['nsenter', `--net=${netns}`, 'ip', '-j', '-d', '-batch', '-'];

/**
 * Reads every given workload namespace once, in parallel (at most `limit` processes at a time,
 * each after `before` resolves: a background read of hundreds of namespaces must not starve
 * the attaches running beside it); a failed read is an Error in the map.
 */
export async function observeWorkloads(runner: CommandRunner, paths: Iterable<string>, limit = Infinity, before?: () => Promise<unknown>): Promise<Map<string, WorkloadState | Error>> {
  const unique = [...new Set(paths)].sort(); // a stable order for the transcript
  const reads: (WorkloadState | Error)[] = new Array(unique.length);
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const i = next++;
      await before?.();
      reads[i] = await readWorkload(runner, unique[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, unique.length) }, worker));
  return new Map(unique.map((p, i) => [p, reads[i]!]));
}

async function readWorkload(runner: CommandRunner, path: string): Promise<WorkloadState | Error> {
  const r = await runner.run(workloadReadArgv(path), { input: WORKLOAD_READ, allowFail: true });
  if (r.code !== 0) return new Error(r.stderr.trim().split('\n')[0] || `exit ${r.code}`);
  try {
    return parseWorkload(r.stdout);
  } catch (err) {
    return new Error(`unreadable answer: ${(err as Error).message}`);
  }
}

interface RawIface {
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface RawRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
}

export function parseWorkload(stdout: string): WorkloadState {
  const [links = [], routes = []] = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown[]);
  const ifaces = new Map<string, WorkloadIface>();
  for (const raw of links as RawIface[]) {
    ifaces.set(raw.ifname, {
      name: raw.ifname,
      kind: raw.linkinfo?.info_kind ?? '',
      mtu: raw.mtu,
      mac: raw.address ?? '',
      up: (raw.flags ?? []).includes('UP'),
      addrs: (raw.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    });
  }
  const defaults = (routes as RawRoute[]).filter((r) => r.dst === 'default' && r.gateway).map((r) => `${r.gateway} dev ${r.dev}`);
  return { ifaces, defaults };
}

/** Compares one port's workload end with its plan. */
export function workloadVerdict(port: PortPlan, w: WorkloadState): WorkloadVerdict {
  const iface = w.ifaces.get(port.ifname);
  if (!iface) return { kind: 'recreate' };
  if (iface.kind !== 'veth') {
    return { kind: 'problem', why: `${port.ifname} in ${port.netns} is a ${iface.kind || 'device'} Tenet did not make; left alone` };
  }
  const commands: string[] = [];
  const link = [
    ...(iface.mac !== port.mac ? [`address ${port.mac}`] : []),
    ...(iface.mtu !== port.mtu ? [`mtu ${port.mtu}`] : []),
    ...(!iface.up ? ['up'] : []),
  ];
  if (link.length) commands.push(`link set ${port.ifname} ${link.join(' ')}`);
  if (!iface.addrs.includes(port.ipCidr)) commands.push(`addr add ${port.ipCidr} dev ${port.ifname}`);
  const route = `${port.gateway} dev ${port.ifname}`;
  if (port.defaultRoute && !w.defaults.includes(route)) commands.push(`route replace default via ${route}`);
  return commands.length ? { kind: 'fix', commands } : { kind: 'ok' };
}

/**
 * Folds the workload verdicts of a full read into a tenant's steps: fixes replace diff.ts's
 * MTU-only fix, a re-created port is deleted in the cleanup batch and made again, and what
 * cannot be repaired is returned (endpoint id → why) and left alone.
 */
export function applyWorkloadDrift(steps: TenantSteps, plan: TenantPlan, state: TenantState, workloads: Map<string, WorkloadState | Error>): Map<string, string> {
  const problems = new Map<string, string>();
  const creating = new Set(steps.newPorts.map((p) => p.plan.endpointId));
  for (const port of plan.ports) {
    if (port.handoff !== undefined || creating.has(port.endpointId) || !state.links.has(port.port)) continue;
    const w = workloads.get(port.netns);
    const verdict: WorkloadVerdict = !w ? { kind: 'ok' } : w instanceof Error ? { kind: 'problem', why: `could not read ${port.netns}: ${w.message}` } : workloadVerdict(port, w);
    if (verdict.kind === 'ok') continue;
    steps.workloadFixes = steps.workloadFixes.filter((f) => f.plan.endpointId !== port.endpointId);
    if (verdict.kind === 'fix') steps.workloadFixes.push({ plan: port, commands: verdict.commands });
    if (verdict.kind === 'problem') problems.set(port.endpointId, verdict.why);
    if (verdict.kind === 'recreate') {
      steps.cleanup.push(`link del ${port.port}`);
      steps.tenant = steps.tenant.filter((c) => !c.startsWith(`link set ${port.port} `));
      steps.newPorts.push(newPort(port));
    }
  }
  return problems;
}

/**
 * Ports whose namespace's identity could not be confirmed (agent/workload-check.ts): their
 * workload end is neither read, made nor changed, whatever the diff wanted; the tenant side,
 * which is Tenet's, is kept and still converged.
 */
export function holdPorts(steps: TenantSteps, plan: TenantPlan, held: ReadonlyMap<string, string>): void {
  const ports = new Set(plan.ports.filter((p) => held.has(p.endpointId)).map((p) => p.port));
  if (!ports.size) return;
  steps.newPorts = steps.newPorts.filter((p) => !held.has(p.plan.endpointId));
  steps.workloadFixes = steps.workloadFixes.filter((f) => !held.has(f.plan.endpointId));
  steps.cleanup = steps.cleanup.filter((c) => !ports.has(/^link del (\S+)$/.exec(c)?.[1] ?? ''));
}
