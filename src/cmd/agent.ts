/** Wiring of an agent process: underlay detection, datapath, sync with the controller, API socket. */
import { hostname } from 'node:os';
import { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import { Agent } from '../agent/agent.js';
import { buildAgentApp } from '../agent/api.js';
import { buildCniApp, DEFAULT_CNI_SOCKET } from '../agent/cni-server.js';
import { attach, attachExisting, detach, remove } from '../agent/attach.js';
import { DhcpService } from '../agent/dhcp.js';
import { DnsService } from '../agent/dns.js';
import { SocketHandoff } from '../agent/ns-socket-handoff.js';
import { monitorTarget } from '../agent/docker.js';
import { PortPublisher } from '../agent/ports.js';
import { startDockerDriver } from '../docker/driver.js';
import { DockerEngine } from '../docker/engine.js';
import { DockerMonitor } from '../docker/monitor.js';
import { detectUnderlay } from '../agent/underlay.js';
import { Datapath } from '../datapath/datapath.js';
import { NftSessionRunner, nftSessionsEnabled } from '../datapath/nft-session.js';
import { ExecRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';
import { DEFAULT_UNDERLAY, type PublishedPort } from '../model/types.js';
import { validateHostName, validateName } from '../model/validate.js';
import { agentCredentials } from './join.js';
import { listenUnix, removeSocket } from './listen.js';
import { VERSION } from './version.js';

export interface AgentConfig {
  host?: string;
  /** The controller's address, or its replicas' comma-separated (ADR 023). */
  controller: string;
  socket: string;
  /** Group allowed on the agent's socket (mode 0660); root only (0600) without. */
  socketGroup?: string;
  nsPrefix: string;
  vtepIp?: string;
  underlayDev?: string;
  underlayName?: string;
  /** Only for an https controller: a join token for the first start. */
  joinToken?: string;
  /** Where the agent keeps the controller's CA and its host credential. */
  stateDir: string;
  /** How long an attach a crash left unfinished waits for its caller's retry (agent/claims.ts). */
  claimWindowMs?: number;
  /** Period of the agent's reclaim sweep of endpoints whose namespace is gone (agent/reclaim.ts). */
  reclaimMs?: number;
  /**
   * Work with this host's dockerd: serve the Docker network and IPAM driver, keep dockerd's
   * networks in sync (ADR 014), and run the event monitor that attaches marked containers.
   */
  docker?: { pluginSocket: string; dockerSocket: string; defaultTenant: string };
  /** The CNI socket the `tenet` plugin executable calls (default /run/tenet/cni.sock). */
  cniSocket?: string;
}

export async function startAgent(cfg: AgentConfig, baseLogger: Logger): Promise<{ agent: Agent; close(): Promise<void> }> {
  const host = validateHostName(cfg.host ?? hostname());
  const logger = baseLogger.child({ host });
  // A persistent nft per tenant namespace saves a process start per policy change (ADR 013);
  // TENET_NFT_SESSION=0 goes back to one `nft -f` per change.
  const runner = nftSessionsEnabled() ? new NftSessionRunner() : new ExecRunner();
  const underlay = { name: validateName('underlay', cfg.underlayName ?? DEFAULT_UNDERLAY), ...(await detectUnderlay(runner, logger, cfg.vtepIp, cfg.underlayDev)) };
  const credentials = await untilReachable(() => agentCredentials(cfg, host, logger), logger);
  const controller = new ControllerClient(cfg.controller, credentials);
  const ports = new PortPublisher(runner, { nsPrefix: cfg.nsPrefix }, logger);
  const agent = new Agent({ host, nsPrefix: cfg.nsPrefix, underlay, controller, datapath: new Datapath(runner, logger), logger, claimWindowMs: cfg.claimWindowMs, reclaimMs: cfg.reclaimMs, ports });
  // DNS and DHCP keep answering through a restart: parked by the old agent, taken back here (ADR 024).
  const handoff = new SocketHandoff(`${cfg.socket}.parker.pid`, ['DNS', 'DHCP'], logger.child({ component: 'handoff' }));
  const dns = new DnsService({ host, nsPrefix: cfg.nsPrefix, cache: agent.cache, logger: logger.child({ component: 'dns' }), onComplete: () => handoff.completed('DNS') });
  const dhcp = new DhcpService({ host, nsPrefix: cfg.nsPrefix, cache: agent.cache, logger: logger.child({ component: 'dhcp' }), onComplete: () => handoff.completed('DHCP') });
  agent.follow(dns);
  agent.follow(dhcp);
  await untilReachable(() => agent.start(), logger);
  // Whatever started is stopped again if a later step fails (a socket in use, say), so the
  // process exits with its one-line error instead of hanging on open handles.
  const started: (() => unknown)[] = [() => (runner instanceof NftSessionRunner ? runner.close() : undefined), () => controller.close(), () => agent.stop()];
  let serving = false;
  started.push(() => (serving ? handoff.park([...dns.parkable(), ...dhcp.parkable()]) : undefined));
  const stopAll = async () => {
    for (const stop of [...started].reverse()) await stop();
  };
  try {
    // The path is used even if dockerd is not there yet: it may start later (the monitor retries).
    const docker = cfg.docker && new DockerEngine(cfg.docker.dockerSocket);
    const monitor = docker && new DockerMonitor(docker, monitorTarget(agent, logger), logger);
    monitor?.start();
    if (monitor) started.push(() => monitor.stop());
    const app = buildAgentApp(agent, logger, VERSION, docker);
    await listenUnix(app, cfg.socket, cfg.socketGroup);
    started.push(async () => { await app.close(); removeSocket(cfg.socket); });
    const cniSocket = cfg.cniSocket ?? DEFAULT_CNI_SOCKET;
    const cni = buildCniApp(agent, runner, logger.child({ component: 'cni' }));
    await listenUnix(cni, cniSocket, cfg.socketGroup);
    started.push(async () => { await cni.close(); removeSocket(cniSocket); });
    const driver = cfg.docker && (await startDocker(cfg, agent, controller, credentials.token !== undefined, logger));
    if (driver) started.push(() => driver.close());
    serving = true;
    logger.info({ socket: cfg.socket, controller: cfg.controller, vtep: underlay.vtep, underlayDev: underlay.dev, underlayMtu: underlay.mtu, underlay: underlay.name, nsPrefix: cfg.nsPrefix, docker: docker?.socketPath ?? 'none' }, 'agent serving on its socket');
  } catch (err) {
    await stopAll();
    throw err;
  }
  // The kernel state stays as it is when the agent stops: traffic keeps flowing without us.
  return { agent, close: stopAll };
}

/** The Docker driver, over this agent's own attach operations (no extra hop through its socket). */
function startDocker(cfg: AgentConfig, agent: Agent, controller: ControllerClient, joined: boolean, logger: Logger) {
  const local = {
    create: (req: Parameters<typeof attach>[1]) => attach(agent, req, logger),
    attachHandoff: (id: string, ifname: string) => attachExisting(agent, id, { handoff: true, ifname }, logger),
    detach: (id: string) => detach(agent, id, logger, true), // Leave: the port goes while the controller detaches (attach.ts)
    remove: (id: string) => remove(agent, id, logger),
    publishPorts: (id: string, ports: PublishedPort[]) => agent.publishPorts(id, ports),
  };
  return startDockerDriver({ ...cfg.docker!, stateDir: cfg.stateDir, grantHost: joined ? agent.host : undefined }, { controller, agent: local }, logger.child({ component: 'docker' }));
}

/**
 * The controller may start after the agent (or restart), and its store (etcd) may be without
 * quorum for a moment: wait for them rather than die. Registration is idempotent, so trying
 * again is safe; anything else (a refused token, bad flags) still ends the agent at once.
 */
export async function untilReachable<T>(step: () => Promise<T>, logger: Logger): Promise<T> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof TenetError) || !WAIT_FOR.has(err.code)) throw err;
      logger.warn({ err: err.message, retryInMs: delay }, 'cannot register with the controller yet');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

const WAIT_FOR: ReadonlySet<string> = new Set(['CONTROLLER_UNREACHABLE', 'STORE_UNAVAILABLE']);
