/**
 * The Docker integration an agent runs when asked (`tenet agent --docker`): the plugin socket
 * dockerd finds by its path (/run/docker/plugins/tenet.sock: driver and IPAM name `tenet`),
 * and the network sync with the dockerd on this host. A stale socket (a crashed agent's) is
 * removed first: dockerd would otherwise stall ~15 s on every call that scans plugins.
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type http from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { DriverContext } from './context.js';
import { DockerEngine } from './engine.js';
import { ipamHandlers } from './ipam-driver.js';
import { networkHandlers } from './network-driver.js';
import { NetworkSync } from './network-sync.js';
import { pluginServer } from './plugin-server.js';
import { DriverState } from './state.js';

export const DEFAULT_PLUGIN_SOCKET = '/run/docker/plugins/tenet.sock';

export interface DockerDriverOptions {
  pluginSocket: string;
  dockerSocket: string;
  stateDir: string;
  defaultTenant: string;
  syncMs?: number;
  bindWaitMs?: number;
  /** This host's name when its agent joined over https: creates are checked against its Docker grant. */
  grantHost?: string;
}

export async function startDockerDriver(opts: DockerDriverOptions, base: Pick<DriverContext, 'controller' | 'agent'>, logger: Logger): Promise<{ sync: NetworkSync; close(): Promise<void> }> {
  const state = new DriverState(join(opts.stateDir, 'docker-driver.json'));
  let sync: NetworkSync | undefined;
  const ctx: DriverContext = { ...base, state, logger, defaultTenant: opts.defaultTenant, bindWaitMs: opts.bindWaitMs ?? 10_000, grantHost: opts.grantHost, kickSync: () => sync?.kick() };
  sync = new NetworkSync(ctx, new DockerEngine(opts.dockerSocket), logger, opts.syncMs);
  const server = pluginServer({ ...networkHandlers(ctx), ...ipamHandlers(ctx) }, logger);
  await listen(server, opts.pluginSocket);
  sync.start();
  logger.info({ pluginSocket: opts.pluginSocket, dockerSocket: opts.dockerSocket, defaultTenant: opts.defaultTenant }, 'serving the docker network and IPAM driver "tenet"');
  return {
    sync,
    close: async () => {
      sync!.stop();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      removeIfSocket(opts.pluginSocket);
    },
  };
}

async function listen(server: http.Server, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (await isLiveSocket(path)) throw new TenetError('SOCKET_IN_USE', `${path} is served by another process`, 'stop the other agent, or give this one --docker-plugin-socket PATH');
  removeIfSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}

function removeIfSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there
  }
}

function isLiveSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
