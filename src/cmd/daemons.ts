/**
 * The long-running commands: `tenet up` (controller + agent in one process, the single-host
 * default: SQLite unless --store names etcd), `tenet controller` and `tenet agent`. Each
 * runs until SIGINT or SIGTERM, then closes its sockets; the kernel state is left as it
 * is, so workloads keep their connectivity while Tenet restarts.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_AGENT_SOCKET, DEFAULT_AGENT_STATE_DIR, DEFAULT_CONTROLLER_SOCKET, DEFAULT_DATA_DIR, DEFAULT_HTTP_LISTEN } from '../api/defaults.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { DEFAULT_CLAIM_WINDOW_MS } from '../agent/claims.js';
import { DEFAULT_RECLAIM_MS } from '../agent/reclaim.js';
import { DEFAULT_HOST_LEASE_MS } from '../controller/liveness.js';
import { DEFAULT_LEADER_TTL_MS } from '../controller/leader.js';
import { wholeNumber } from '../cli/context.js';
import { startAgent, type AgentConfig } from './agent.js';
import { DEFAULT_CNI_SOCKET } from '../agent/cni-server.js';
import { DEFAULT_PLUGIN_SOCKET } from '../docker/driver.js';
import { DEFAULT_DOCKER_SOCKET } from '../docker/engine.js';
import { DEFAULT_DOCKER_TENANT } from '../docker/options.js';
import { validateName } from '../model/validate.js';
import { startController } from './controller.js';
import { createLogger } from './logging.js';

interface DaemonFlags {
  dataDir: string;
  listen: string;
  socket: string;
  agentSocket: string;
  controller?: string;
  host?: string;
  nsPrefix: string;
  vtepIp?: string;
  underlayDev?: string;
  underlayName?: string;
  tlsSan: string[];
  advertiseUrl?: string;
  joinToken?: string;
  stateDir: string;
  socketGroup?: string;
  claimWindowMs: number;
  reclaimMs: number;
  hostLeaseMs: number;
  leaderLeaseMs: number;
  docker?: boolean;
  dockerSocket: string;
  dockerPluginSocket: string;
  dockerDefaultTenant: string;
  cniSocket: string;
  store?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export function addDaemonCommands(program: Command): void {
  const up = program.command('up').description('run controller and agent on this host (store: SQLite in --data-dir, or etcd with --store etcd://…)');
  controllerOptions(agentOptions(up)).option('--agent-socket <path>', 'agent API socket', DEFAULT_AGENT_SOCKET).action(async (f: DaemonFlags) => {
    requireRoot('tenet up');
    const logger = createLogger('tenet');
    const controller = await startController(f, logger);
    // A failed agent start (a socket in use, say) closes the controller too: one line, exit 1.
    const agent = await startAgent({ ...f, controller: `unix:${f.socket}`, socket: f.agentSocket, docker: dockerConfig(f) }, logger).catch(async (err) => {
      await controller.close();
      throw err;
    });
    logger.info({ api: [`unix:${f.socket}`, controller.url].filter(Boolean), agentSocket: f.agentSocket, dataDir: f.dataDir }, 'tenet is up: point the CLI at it with TENET_API (the default finds it)');
    await untilSignal(logger, async () => {
      await agent.close();
      await controller.close();
    });
  });
  const ctl = program.command('controller').description('run a controller only: on SQLite in --data-dir (one controller), or one of several replicas on etcd (--store etcd://…)');
  controllerOptions(ctl).action(async (f: DaemonFlags) => {
    const logger = createLogger('tenet-controller');
    const controller = await startController(f, logger);
    await untilSignal(logger, controller.close);
  });
  const agent = program.command('agent').description('run an agent only (one per host)');
  agentOptions(agent)
    .requiredOption('--controller <address>', 'controller address: https://host:port or unix:/path; replicas comma-separated, fails over between them (https://a:7400,https://b:7400)')
    .option('--join-token <token>', 'first start only: a token from `tenet token create --agent` (default: $TENET_JOIN_TOKEN)')
    .option('--listen <path>', 'agent API socket', DEFAULT_AGENT_SOCKET)
    .option(SOCKET_GROUP, SOCKET_GROUP_HELP)
    .action(async (f: DaemonFlags & { listen: string; controller: string }) => {
      requireRoot('tenet agent');
      const logger = createLogger('tenet-agent');
      const joinToken = f.joinToken ?? process.env.TENET_JOIN_TOKEN;
      const running = await startAgent({ ...f, joinToken, socket: f.listen, docker: dockerConfig(f) }, logger);
      await untilSignal(logger, running.close);
    });
}

function controllerOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', "the controller's TLS files and admin token, and the SQLite store's file (--store sqlite)", DEFAULT_DATA_DIR)
    .addOption(
      new Option('--store <store>', 'where objects live: sqlite (the default: a file in --data-dir; one controller), or an etcd v3 cluster that controller replicas share: etcd://host:port,host:port (etcds:// for TLS)')
        .env('TENET_STORE')
        .default(undefined, 'sqlite'),
    )
    .option('--etcd-ca <file>', "CA that signed the etcd members' certificates: TLS to etcd (required with etcds:// or any --etcd-* flag)")
    .option('--etcd-cert <file>', 'client certificate to present to etcd (with --etcd-key and --etcd-ca)')
    .option('--etcd-key <file>', 'private key of --etcd-cert')
    .addOption(new Option('--listen <host:port>', 'serve the API on TCP too, over https with bearer tokens, e.g. 0.0.0.0:7400').default(DEFAULT_HTTP_LISTEN, 'off'))
    .addOption(new Option('--tls-san <name>', 'another DNS name or IP for the server certificate (repeatable)').argParser(collect).default([], 'none'))
    .addOption(
      new Option('--advertise-url <url>', 'https URL other replicas, agents and `tenet status` show for this controller (its host joins the certificate); default: from --listen, the hostname for 0.0.0.0')
        .env('TENET_ADVERTISE_URL'),
    )
    .option('--socket <path>', 'API unix socket (root only)', DEFAULT_CONTROLLER_SOCKET)
    .option(SOCKET_GROUP, SOCKET_GROUP_HELP)
    .addOption(
      new Option('--host-lease-ms <ms>', "a host is down once its agent has not kept its lease alive for this long (agents keep it alive every third of it)")
        .env('TENET_HOST_LEASE_MS')
        .argParser(wholeNumber(300))
        .default(DEFAULT_HOST_LEASE_MS),
    )
    .addOption(
      new Option('--leader-lease-ms <ms>', "TTL of this controller replica's lease: a dead leader is replaced after about this long (ADR 022)")
        .env('TENET_LEADER_LEASE_MS')
        .argParser(wholeNumber(500))
        .default(DEFAULT_LEADER_TTL_MS),
    );
}

function agentOptions(cmd: Command): Command {
  return cmd
    .option('--host <name>', 'name of this host (default: the hostname)')
    .option('--ns-prefix <prefix>', 'prefix of the tenant namespaces this agent owns', 'tenet-')
    .option('--vtep-ip <address>', 'underlay address for VXLAN (default: from the default route)')
    .option('--underlay-dev <name>', 'underlay interface (default: from the default route)')
    .option('--underlay-name <name>', 'underlay network name: VXLAN only flows between hosts of one underlay', 'default')
    .option('--cni-socket <path>', 'where the tenet CNI plugin reaches this agent (tenet cni install --socket)', DEFAULT_CNI_SOCKET)
    .option('--state-dir <dir>', "where the agent keeps the controller's CA and its credential", DEFAULT_AGENT_STATE_DIR)
    .addOption(
      new Option('--claim-window-ms <ms>', 'how long an attach left unfinished by a crash waits for its caller to retry before it is rolled back')
        .env('TENET_CLAIM_WINDOW_MS')
        .argParser(wholeNumber(0))
        .default(DEFAULT_CLAIM_WINDOW_MS),
    )
    .addOption(
      new Option('--reclaim-ms <ms>', 'how often the agent looks for endpoints whose namespace is gone or re-made, and releases them (0: only at start and at each full resync)')
        .env('TENET_RECLAIM_MS')
        .argParser(wholeNumber(0))
        .default(DEFAULT_RECLAIM_MS),
    )
    .option('--docker', 'work with this host\'s dockerd: serve the network and IPAM driver "tenet", mirror networks into dockerd (ADR 014), attach containers marked TENET_TENANT/TENET_NETWORK and `tenet attach CONTAINER`')
    .addOption(new Option('--docker-socket <path>', "dockerd's API socket").env('TENET_DOCKER_SOCKET').default(DEFAULT_DOCKER_SOCKET))
    .option('--docker-plugin-socket <path>', 'where dockerd finds the plugin (a .sock in /run/docker/plugins, or any path named by a spec file: tenet docker setup)', DEFAULT_PLUGIN_SOCKET)
    .option('--docker-default-tenant <name>', 'the tenant whose networks keep their plain name in docker (others are NAME/TENANT)', DEFAULT_DOCKER_TENANT);
}

function dockerConfig(f: DaemonFlags): AgentConfig['docker'] {
  return f.docker ? { pluginSocket: f.dockerPluginSocket, dockerSocket: f.dockerSocket, defaultTenant: validateName('tenant', f.dockerDefaultTenant) } : undefined;
}

const SOCKET_GROUP = '--socket-group <group>';
const SOCKET_GROUP_HELP = 'let this group use the API socket(s) too: mode 0660 (default: root only, 0600)';
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new TenetError('NOT_ROOT', `${what} programs the kernel's networking and must run as root`, 'run it with sudo');
}

function untilSignal(logger: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down; kernel state is kept');
      close().then(resolve, (err) => {
        logger.error({ err: (err as Error).message }, 'error while shutting down');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
