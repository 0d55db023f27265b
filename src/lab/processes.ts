/**
 * Every process the lab started, for `tenet lab ls` (issue 11: "lists every process it
 * started, name and pid", so failure tests can kill any of them by PID). One entry per kind
 * in LAB_PROCESS_KINDS: a new kind (an etcd member, a controller replica) is one line there
 * plus the function listing its processes from the state.
 */
import { etcdAlive } from './cluster.js';
import type { ResolvedConfig } from './config.js';
import { controllerAlive } from './controllers.js';
import { isDockerd } from './dockerd.js';
import { agentAlive, readCmdline } from './procs.js';
import type { LabState } from './state.js';

/** What a lab process is. */
export type LabProcessKind = 'agent' | 'dockerd' | 'etcd' | 'controller';

export interface LabProcess {
  /** `<kind> <host or member>`: "agent h1", "dockerd h2", "etcd e1", "controller c2". Unique in the lab. */
  name: string;
  kind: LabProcessKind;
  /** The lab host it serves, for per-host kinds. */
  host?: string;
  /** Absent only while it is being started (or when its start failed before a PID was known). */
  pid?: number;
  /** The PID is still this process (its command line checked: PIDs are reused). */
  alive: boolean;
  log: string;
}

type Lister = (state: LabState, c: ResolvedConfig) => LabProcess[];

const agents: Lister = (s) =>
  s.hosts.map((h) => ({ name: `agent ${h.name}`, kind: 'agent', host: h.name, pid: h.pid, alive: agentAlive(h.pid, h.nsPrefix), log: h.log }));

const dockerds: Lister = (s) =>
  s.hosts
    .filter((h) => h.docker)
    .map((h) => ({
      name: `dockerd ${h.name}`,
      kind: 'dockerd',
      host: h.name,
      pid: h.dockerPid,
      alive: h.dockerPid !== undefined && isDockerd(readCmdline(h.dockerPid), h.docker!.dir),
      log: h.docker!.log,
    }));

const etcds: Lister = (s, c) =>
  (s.cluster?.etcd ?? []).map((m) => ({ name: `etcd ${m.name}`, kind: 'etcd', pid: m.pid, alive: etcdAlive(c, m.pid), log: m.log }));

const controllers: Lister = (s, c) =>
  (s.cluster?.controllers ?? []).map((x) => ({ name: `controller ${x.name}`, kind: 'controller', pid: x.pid, alive: controllerAlive(c, x.pid), log: x.log }));

/** In the order `lab ls` shows them. */
const LAB_PROCESS_KINDS: Record<LabProcessKind, Lister> = { etcd: etcds, controller: controllers, agent: agents, dockerd: dockerds };

export function labProcesses(state: LabState | undefined, c: ResolvedConfig): LabProcess[] {
  return state ? Object.values(LAB_PROCESS_KINDS).flatMap((list) => list(state, c)) : [];
}
