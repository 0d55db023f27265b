/**
 * Every process the lab started, for `tenet lab ls` (issue 11: "lists every process it
 * started, name and pid", so failure tests can kill any of them by PID). One entry per kind
 * in LAB_PROCESS_KINDS: a new kind (an etcd member, a controller replica) is one line there
 * plus the function listing its processes from the state.
 */
import { isDockerd } from './dockerd.js';
import { agentAlive, readCmdline } from './procs.js';
import type { LabState } from './state.js';

/** What a lab process is; the later kinds (etcd, controller) join this union. */
export type LabProcessKind = 'agent' | 'dockerd';

export interface LabProcess {
  /** `<kind> <host or member>`: "agent h1", "dockerd h2". Unique in the lab. */
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

type Lister = (state: LabState) => LabProcess[];

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

/** In the order `lab ls` shows them. */
const LAB_PROCESS_KINDS: Record<LabProcessKind, Lister> = { agent: agents, dockerd: dockerds };

export function labProcesses(state: LabState | undefined): LabProcess[] {
  return state ? Object.values(LAB_PROCESS_KINDS).flatMap((list) => list(state)) : [];
}
