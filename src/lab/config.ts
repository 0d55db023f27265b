/**
 * Lab configuration and every name the lab gives to things. All kernel objects the lab makes
 * live in network namespaces named `${prefix}-…` (underlay `-ul`, hosts `-hN`, containers
 * `-c-NAME`, and the agents' tenant namespaces `-hN-TENANT`), so `down` can find them all
 * by prefix even when the state file is lost. The prefix has no dash, so one lab's prefix is
 * never the start of another lab's names.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONTROLLER_SOCKET, RUN_DIR } from '../api/defaults.js';
import { formatIp, parseCidr, usableRange, type Cidr } from '../base/cidr.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { MarkerOwnership, type NamespaceOwnership } from '../datapath/ownership.js';
import { ExecRunner, type CommandRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';
import { planDockerd, type DockerdPlan } from './dockerd.js';

export const MAX_HOSTS = 16;
export const UNDERLAY_MTU = 1500;
const PREFIX = /^[a-z][a-z0-9]{0,9}$/;

/** What the lab knows about a host before its agent starts (also what `agentArgv` gets). */
export interface HostPlan {
  name: string;
  index: number;
  netns: string;
  /** Underlay address of eth0, the host's VTEP. */
  vtep: string;
  socket: string;
  log: string;
  /** Prefix of the tenant namespaces the agent makes; also how `down` recognises the agent. */
  nsPrefix: string;
  /** Set by `lab up --docker`: the host's own dockerd, whose plugin socket its agent serves. */
  docker?: DockerdPlan;
  /** Set by `lab up --store etcd`: the agent's --controller, every replica the lab started (`unix:a,unix:b`). */
  controller?: string;
}

export interface LabConfig {
  prefix?: string;
  runDir?: string;
  /** Unix socket of the controller: agents in host namespaces reach it across namespaces. */
  controllerSocket?: string;
  /** Where the lab itself talks to the controller (default `unix:` + controllerSocket). */
  controllerAddress?: string;
  underlayCidr?: string;
  runner?: CommandRunner;
  agentArgv?: (host: HostPlan, lab: ResolvedConfig) => string[];
  logger?: Logger;
  /** How long an agent may take to answer GET /v1/health after it starts. */
  agentTimeoutMs?: number;
  /** Where lab hosts and the underlay are marked as Tenet's (datapath/ownership.ts). */
  ownership?: NamespaceOwnership;
}

export interface ResolvedConfig {
  prefix: string;
  labDir: string;
  statePath: string;
  controllerSocket: string;
  controllerAddress: string;
  underlay: Cidr;
  runner: CommandRunner;
  agentArgv: (host: HostPlan, lab: ResolvedConfig) => string[];
  logger: Logger;
  agentTimeoutMs: number;
  ownership: NamespaceOwnership;
}

export function resolveConfig(c: LabConfig = {}): ResolvedConfig {
  const prefix = c.prefix ?? process.env.TENET_LAB_PREFIX ?? 'tnlab';
  if (!PREFIX.test(prefix)) {
    throw new TenetError('LAB_ERROR', `invalid lab prefix ${JSON.stringify(prefix)}`, 'use 1-10 lowercase letters or digits, starting with a letter');
  }
  const underlay = parseCidr(c.underlayCidr ?? '10.99.0.0/24');
  if (!underlay || underlay.prefixLen > 27) {
    throw new TenetError('LAB_ERROR', `invalid underlay ${JSON.stringify(c.underlayCidr)}`, 'give an IPv4 network of /27 or larger, e.g. 10.99.0.0/24');
  }
  const labDir = `${c.runDir ?? RUN_DIR}/lab`;
  const controllerSocket = c.controllerSocket ?? DEFAULT_CONTROLLER_SOCKET;
  return {
    prefix,
    labDir,
    statePath: `${labDir}/${prefix}.json`,
    controllerSocket,
    controllerAddress: c.controllerAddress ?? `unix:${controllerSocket}`,
    underlay,
    runner: c.runner ?? new ExecRunner(),
    agentArgv: c.agentArgv ?? defaultAgentArgv,
    logger: c.logger ?? silentLogger,
    agentTimeoutMs: c.agentTimeoutMs ?? 20_000,
    ownership: c.ownership ?? new MarkerOwnership(),
  };
}

export const underlayNs = (prefix: string) => `${prefix}-ul`;
export const containerNs = (prefix: string, name: string) => `${prefix}-c-${name}`;
/** Every namespace of the lab starts with this: `down` deletes them all. */
export const labNsPrefix = (prefix: string) => `${prefix}-`;
/** Host namespaces only (not the agents' `-hN-tenant` ones); `down` derives host names from them. */
export const hostNsPattern = (prefix: string) => new RegExp(`^${prefix}-(h\\d+)$`);

/** h1 gets the second address of the underlay (10.99.0.2); the first is kept for a gateway. */
export function planHost(c: ResolvedConfig, index: number): HostPlan {
  const name = `h${index}`;
  const base = `${c.labDir}/${c.prefix}-${name}`;
  return {
    name,
    index,
    netns: `${c.prefix}-${name}`,
    vtep: formatIp(usableRange(c.underlay).first + index),
    socket: `${base}.sock`,
    log: `${base}.log`,
    nsPrefix: `${c.prefix}-${name}-`,
  };
}

/** The dockerd of a lab host: its files under the lab directory, its containerd namespace the host's netns name. */
export function planHostDockerd(c: ResolvedConfig, h: HostPlan): DockerdPlan {
  return planDockerd(`${c.labDir}/${c.prefix}-${h.name}-docker`, h.netns, h.netns);
}

/** Every lab dockerd's directory is `<labDir>/<prefix>-hN-docker`: `down` finds them by this. */
export const dockerDirPattern = (prefix: string) => new RegExp(`^${prefix}-(h\\d+)-docker$`);

/** Resolved from this file so it works from any cwd: dist/src/lab → dist/src/cmd/tenet.js. */
export const TENET_ENTRY = fileURLToPath(new URL('../cmd/tenet.js', import.meta.url));

/**
 * `nsenter --net`, not `ip netns exec`: the latter also gives the agent a private mount
 * namespace (with / made a slave), so the tenant namespaces the agent creates would be
 * pinned by bind mounts that only its own mount namespace sees, and die with the agent:
 * a restart would cut every workload off. nsenter enters the network namespace only, then
 * execs, so the PID we record is the agent's node process. (Found by the lab restart test.)
 */
export function defaultAgentArgv(h: HostPlan, c: ResolvedConfig): string[] {
  return [
    'nsenter', `--net=/run/netns/${h.netns}`,
    process.execPath, TENET_ENTRY, 'agent',
    '--host', h.name,
    '--controller', h.controller ?? `unix:${c.controllerSocket}`,
    '--listen', h.socket,
    '--cni-socket', labCniSocket(h),
    '--ns-prefix', h.nsPrefix,
    '--vtep-ip', h.vtep,
    '--underlay-dev', 'eth0',
    '--underlay-name', `lab-${c.prefix}`,
    ...(h.docker ? dockerAgentArgs(h.docker) : []),
  ];
}

/** Each lab agent's CNI socket beside its API socket: never the host's /run/tenet/cni.sock. */
export const labCniSocket = (h: Pick<HostPlan, 'socket'>): string => h.socket.replace(/\.sock$/, '.cni.sock');

/** The agent serves the plugin in its dockerd's plugin dir, and keeps its driver state apart from other hosts'. */
function dockerAgentArgs(d: DockerdPlan): string[] {
  return ['--docker', '--docker-socket', d.socket, '--docker-plugin-socket', d.pluginSocket, '--state-dir', `${d.dir}/agent-state`];
}
