/** Wiring of an agent process: underlay detection, datapath, sync with the controller, API socket. */
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { ControllerClient } from '../api/client.js';
import type { Logger } from '../base/logger.js';
import { Agent } from '../agent/agent.js';
import { buildAgentApp } from '../agent/api.js';
import { detectUnderlay } from '../agent/underlay.js';
import { Datapath } from '../datapath/datapath.js';
import { ExecRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';
import { DEFAULT_UNDERLAY } from '../model/types.js';
import { validateHostName, validateName } from '../model/validate.js';
import { listenUnix } from './listen.js';
import { VERSION } from './version.js';

export interface AgentConfig {
  host?: string;
  controller: string;
  socket: string;
  nsPrefix: string;
  vtepIp?: string;
  underlayDev?: string;
  underlayName?: string;
}

export async function startAgent(cfg: AgentConfig, baseLogger: Logger): Promise<{ agent: Agent; close(): Promise<void> }> {
  const host = validateHostName(cfg.host ?? hostname());
  const logger = baseLogger.child({ host });
  const runner = new ExecRunner();
  const underlay = { name: validateName('underlay', cfg.underlayName ?? DEFAULT_UNDERLAY), ...(await detectUnderlay(runner, logger, cfg.vtepIp, cfg.underlayDev)) };
  const controller = new ControllerClient(cfg.controller);
  const agent = new Agent({ host, nsPrefix: cfg.nsPrefix, underlay, controller, datapath: new Datapath(runner, logger), logger });
  await startWithRetry(agent, logger);
  const app = buildAgentApp(agent, logger, VERSION);
  await listenUnix(app, cfg.socket);
  logger.info({ socket: cfg.socket, controller: cfg.controller, vtep: underlay.vtep, underlayDev: underlay.dev, underlayMtu: underlay.mtu, underlay: underlay.name, nsPrefix: cfg.nsPrefix }, 'agent serving on its socket');
  return {
    agent,
    close: async () => {
      agent.stop(); // the kernel state stays as it is: traffic keeps flowing without us
      await app.close();
      rmSync(cfg.socket, { force: true });
      controller.close();
    },
  };
}

/** The controller may start after the agent (or restart): wait for it rather than die. */
async function startWithRetry(agent: Agent, logger: Logger): Promise<void> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await agent.start();
      return;
    } catch (err) {
      if (!(err instanceof TenetError) || err.code !== 'CONTROLLER_UNREACHABLE') throw err;
      logger.warn({ err: err.message, retryInMs: delay }, 'cannot register with the controller yet');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
