/** Wiring of an agent process: underlay detection, datapath, sync with the controller, API socket. */
import { hostname } from 'node:os';
import { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import { Agent } from '../agent/agent.js';
import { buildAgentApp } from '../agent/api.js';
import { monitorTarget } from '../agent/docker.js';
import { PortPublisher } from '../agent/ports.js';
import { DEFAULT_DOCKER_SOCKET, DockerEngine } from '../docker/engine.js';
import { DockerMonitor } from '../docker/monitor.js';
import { existsSync } from 'node:fs';
import { detectUnderlay } from '../agent/underlay.js';
import { Datapath } from '../datapath/datapath.js';
import { ExecRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';
import { DEFAULT_UNDERLAY } from '../model/types.js';
import { validateHostName, validateName } from '../model/validate.js';
import { agentCredentials } from './join.js';
import { listenUnix, removeSocket } from './listen.js';
import { VERSION } from './version.js';

export interface AgentConfig {
  host?: string;
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
  /** This host's dockerd socket; 'none' for no Docker; default: /var/run/docker.sock when it exists. */
  dockerSocket?: string;
}

/** The dockerd the agent watches and asks, if any (an explicit path is used even if missing yet: dockerd may start later). */
function dockerEngine(socket: string | undefined): DockerEngine | undefined {
  if (socket === 'none') return undefined;
  if (socket) return new DockerEngine(socket);
  return existsSync(DEFAULT_DOCKER_SOCKET) ? new DockerEngine(DEFAULT_DOCKER_SOCKET) : undefined;
}

export async function startAgent(cfg: AgentConfig, baseLogger: Logger): Promise<{ agent: Agent; ports: PortPublisher; close(): Promise<void> }> {
  const host = validateHostName(cfg.host ?? hostname());
  const logger = baseLogger.child({ host });
  const runner = new ExecRunner();
  const underlay = { name: validateName('underlay', cfg.underlayName ?? DEFAULT_UNDERLAY), ...(await detectUnderlay(runner, logger, cfg.vtepIp, cfg.underlayDev)) };
  const credentials = await untilReachable(() => agentCredentials(cfg, host, logger), logger);
  const controller = new ControllerClient(cfg.controller, credentials);
  const agent = new Agent({ host, nsPrefix: cfg.nsPrefix, underlay, controller, datapath: new Datapath(runner, logger), logger, claimWindowMs: cfg.claimWindowMs });
  await untilReachable(() => agent.start(), logger);
  const ports = new PortPublisher(runner, { nsPrefix: cfg.nsPrefix, endpoint: (id) => agent.cache.endpoints.get(id) }, logger);
  ports.start();
  const docker = dockerEngine(cfg.dockerSocket);
  const monitor = docker && new DockerMonitor(docker, monitorTarget(agent, logger), logger);
  monitor?.start();
  const app = buildAgentApp(agent, logger, VERSION, docker);
  await listenUnix(app, cfg.socket, cfg.socketGroup);
  logger.info({ socket: cfg.socket, controller: cfg.controller, vtep: underlay.vtep, underlayDev: underlay.dev, underlayMtu: underlay.mtu, underlay: underlay.name, nsPrefix: cfg.nsPrefix, docker: docker?.socketPath ?? 'none' }, 'agent serving on its socket');
  return {
    agent,
    ports,
    close: async () => {
      ports.stop();
      await monitor?.stop();
      agent.stop(); // the kernel state stays as it is: traffic keeps flowing without us
      await app.close();
      removeSocket(cfg.socket);
      controller.close();
    },
  };
}

/** The controller may start after the agent (or restart): wait for it rather than die. */
async function untilReachable<T>(step: () => Promise<T>, logger: Logger): Promise<T> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof TenetError) || err.code !== 'CONTROLLER_UNREACHABLE') throw err;
      logger.warn({ err: err.message, retryInMs: delay }, 'cannot register with the controller yet');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
