/**
 * Wiring of a controller process: store + API on a unix socket and/or TCP. The socket is
 * root-only and every caller on it is admin; the TCP listener is off unless --listen asks
 * for it, and then it serves https only, with the CA, certificate and admin token this
 * file makes in the data dir on the first start (ADR 006).
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { sha256Hex } from '../api/credentials.js';
import type { Logger } from '../base/logger.js';
import type { ControllerAuth } from '../controller/auth.js';
import { buildControllerApp } from '../controller/app.js';
import { startGarbageCollector } from '../controller/gc.js';
import { LeaderElection, newControllerId, type LeaderTask } from '../controller/leader.js';
import { checkStoreFormat } from '../controller/store-format.js';
import { startCompactor } from '../store/compactor.js';
import { openStore, parseStoreFlags, type StoreFlags } from '../store/open.js';
import type { Store } from '../store/types.js';
import { parseAdvertiseUrl, registeredUrl } from './advertise.js';
import { listenUnix, parseHostPort, removeSocket } from './listen.js';
import { ensureAdminToken } from './secrets.js';
import { ensureControllerTls } from './tls.js';
import { VERSION } from './version.js';

export interface ControllerConfig {
  dataDir: string;
  /** host:port, or '' for none. */
  listen: string;
  socket: string;
  /** Group allowed on the socket (mode 0660); root only (0600) without. */
  socketGroup?: string;
  /** Extra names and addresses for the server certificate. */
  tlsSan?: string[];
  /** https URL other replicas, agents and `tenet status` show for this one (default: from the bound address). */
  advertiseUrl?: string;
  /** TTL of host leases (controller/liveness.ts; default 30 s). */
  hostLeaseMs?: number;
  /** TTL of this replica's lease, hence how soon a dead leader is replaced (leader.ts; default 5 s). */
  leaderLeaseMs?: number;
  /** How often that lease is kept alive (default a fifth of its TTL). */
  leaderKeepAliveMs?: number;
  /** --store and --etcd-* (store/open.ts); the SQLite store in dataDir without them. */
  store?: StoreFlags['store'];
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export interface RunningController {
  store: Store;
  apps: FastifyInstance[];
  /** https://host:port actually bound (port 0 becomes the real one), if listening on TCP. */
  url?: string;
  /** The https URL registered for this replica (--advertise-url, or guessed from `url`). */
  advertisedUrl?: string;
  /** This replica's part in the election of the leader (ADR 022). */
  election: LeaderElection;
  close(): Promise<void>;
}

export async function startController(cfg: ControllerConfig, logger: Logger): Promise<RunningController> {
  parseStoreFlags(cfg); // a bad --store or --etcd-* flag is refused before anything is written
  const tcp = cfg.listen ? parseHostPort(cfg.listen) : undefined;
  const advertise = parseAdvertiseUrl(cfg.advertiseUrl, cfg.listen);
  const sans = [...(cfg.tlsSan ?? []), ...(advertise ? [advertise.host] : [])];
  const tls = tcp ? ensureControllerTls(cfg.dataDir, tcp.host, sans, logger) : undefined;
  const admin = tcp ? ensureAdminToken(cfg.dataDir) : undefined;
  const shared = { caPem: tls?.caPem, caHash: tls?.caHash };
  const opened = await openStore(cfg);
  const store = opened.store;
  await checkStoreFormat(store, opened.where).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  // What must run once cluster-wide runs on the elected leader only (ADR 022).
  const leaderTasks: LeaderTask[] = [
    // Agents resume watches from recent revisions; keep enough history for a few minutes of churn.
    () => startCompactor(store, { keepRevisions: 10_000, intervalMs: 60_000, logger }),
    () => startGarbageCollector(store, logger),
  ];
  const apps: FastifyInstance[] = [];
  const build = (auth: ControllerAuth) => buildControllerApp({ store, logger, version: VERSION, hostLeaseMs: cfg.hostLeaseMs, auth, tls: auth.transport === 'tcp' ? tls : undefined });
  if (cfg.socket) {
    const app = await build({ transport: 'unix', ...shared });
    await listenUnix(app, cfg.socket, cfg.socketGroup);
    apps.push(app);
  }
  let url: string | undefined;
  let advertisedUrl: string | undefined;
  if (tcp && admin) {
    const app = await build({ transport: 'tcp', adminTokenHash: sha256Hex(admin.secret), ...shared });
    await app.listen(tcp);
    apps.push(app);
    const bound = app.server.address() as AddressInfo;
    url = `https://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    advertisedUrl = registeredUrl(advertise?.url, bound);
    logger.info({ https: url, advertised: advertisedUrl, ca: tls?.caPath, adminToken: admin.path }, 'TCP API: https with bearer tokens (agents join with `tenet token create --agent`)');
  }
  const urls = [advertisedUrl, cfg.socket ? `unix:${cfg.socket}` : undefined].filter((u): u is string => !!u);
  const record = { id: newControllerId(), urls, version: VERSION, startedAt: new Date().toISOString() };
  const election = new LeaderElection({ store, logger, record, tasks: leaderTasks, ttlMs: cfg.leaderLeaseMs, keepAliveMs: cfg.leaderKeepAliveMs });
  await election.start();
  logger.info({ dataDir: cfg.dataDir, store: opened.backend === 'sqlite' ? 'sqlite' : opened.where, socket: cfg.socket || undefined, https: url, revision: await store.revision(), controller: record.id }, 'controller serving API /v1');
  return {
    store,
    apps,
    url,
    advertisedUrl,
    election,
    close: async () => {
      await election.stop();
      await Promise.all(apps.map((a) => a.close()));
      if (cfg.socket) removeSocket(cfg.socket);
      await store.close();
    },
  };
}
