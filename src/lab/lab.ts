/**
 * The lab: simulated Tenet hosts on one machine (DESIGN.md "The lab"). Each host is a
 * network namespace on a shared underlay bridge and runs a real agent; lab containers are
 * namespaces attached through the agents. The CLI (`tenet lab …`), the end-to-end tests
 * and the benchmarks all drive it through this class. Needs root.
 */
import type { CommandResult } from '../datapath/runner.js';
import type { Endpoint } from '../model/types.js';
import { resolveConfig, type LabConfig, type ResolvedConfig } from './config.js';
import { labExec, labExecCapture, labRm, labRun, requireState, type RunOptions } from './containers.js';
import { controllersAddress } from './controllers.js';
import { labDocker } from './docker-cli.js';
import { labDown, type DownReport } from './down.js';
import { labProcesses, type LabProcess } from './processes.js';
import { agentAlive } from './procs.js';
import { loadState, type LabContainer, type LabState } from './state.js';
import { labRestartAgent } from './restart.js';
import { labUp, type UpOptions } from './up.js';

export interface LabListing {
  prefix: string;
  up: boolean;
  controllerSocket?: string;
  /** `lab up --store etcd`: the lab's etcd (`store`, the controllers' --store) and its replicas. */
  store?: string;
  controllers?: { name: string; socket: string; url: string; dataDir: string }[];
  /** What the CLI's --api / $TENET_API should be to reach this lab's controllers (`tenet lab env`). */
  api?: string;
  /** `nsPrefix`: the host agent's namespace prefix (its tenant namespaces are `<nsPrefix><tenant>`). */
  hosts: { name: string; netns: string; nsPrefix: string; vtep: string; pid?: number; alive: boolean; socket: string; dockerSocket?: string }[];
  containers: LabContainer[];
  /** Every process the lab started (processes.ts): the PIDs failure tests kill. */
  processes: LabProcess[];
}

export class Lab {
  readonly config: ResolvedConfig;

  constructor(config: LabConfig = {}) {
    this.config = resolveConfig(config);
  }

  get prefix(): string {
    return this.config.prefix;
  }

  up(hosts: number, opts: UpOptions = {}): Promise<LabState> {
    return labUp(this.config, hosts, opts);
  }

  /** Runs the docker CLI against a lab host's dockerd with the terminal attached; resolves to its exit code. */
  docker(host: string, args: string[]): Promise<number> {
    return labDocker(this.config, host, args);
  }

  run(host: string, name: string, opts: RunOptions): Promise<Endpoint> {
    return labRun(this.config, host, name, opts);
  }

  /** Runs argv in the container with the terminal attached; resolves to its exit code. */
  exec(name: string, argv: string[]): Promise<number> {
    return labExec(this.config, name, argv);
  }

  execCapture(name: string, argv: string[]): Promise<CommandResult> {
    return labExecCapture(this.config, name, argv);
  }

  /** Restarts a host's agent, or (by name: e1, c2) an etcd member or controller replica of the lab's own cluster; resolves to the new PID. */
  restartAgent(name: string): Promise<number> {
    return labRestartAgent(this.config, name);
  }

  rm(name: string): Promise<void> {
    return labRm(this.config, name);
  }

  down(): Promise<DownReport> {
    return labDown(this.config);
  }

  /** The recorded state; throws LAB_ERROR when no lab is up. */
  state(): LabState {
    return requireState(this.config);
  }

  ls(): LabListing {
    const state = loadState(this.config.statePath);
    const hosts = (state?.hosts ?? []).map((h) => ({ ...h, alive: agentAlive(h.pid, h.nsPrefix) }));
    return {
      prefix: this.prefix,
      up: state !== undefined,
      controllerSocket: state?.controllerSocket,
      store: state?.cluster?.store,
      controllers: state?.cluster?.controllers.map(({ name, socket, url, dataDir }) => ({ name, socket, url, dataDir })),
      api: state ? labApi(state) : undefined,
      hosts: hosts.map(({ name, netns, nsPrefix, vtep, pid, alive, socket, docker }) => ({ name, netns, nsPrefix, vtep, pid, alive, socket, dockerSocket: docker?.socket })),
      containers: state?.containers ?? [],
      processes: labProcesses(state, this.config),
    };
  }
}

/** The CLI's address of a lab: every replica the lab started, or the controller its agents use. */
export function labApi(state: LabState): string {
  return state.cluster ? controllersAddress(state.cluster.controllers) : `unix:${state.controllerSocket}`;
}

export type { LabProcess, LabProcessKind } from './processes.js';
export type { LabConfig, RunOptions, DownReport, LabState, UpOptions };
