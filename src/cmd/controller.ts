/** Wiring of a controller process: store + API on TCP and/or a unix socket. */
import type { FastifyInstance } from 'fastify';
import { rmSync } from 'node:fs';
import type { Logger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import { startGarbageCollector } from '../controller/gc.js';
import { checkStoreFormat } from '../controller/store-format.js';
import { startCompactor } from '../store/compactor.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { listenUnix, parseHostPort } from './listen.js';
import { VERSION } from './version.js';

export interface ControllerConfig {
  dataDir: string;
  /** host:port, or '' for none. */
  listen: string;
  socket: string;
}

export interface RunningController {
  store: Store;
  apps: FastifyInstance[];
  close(): Promise<void>;
}

export async function startController(cfg: ControllerConfig, logger: Logger): Promise<RunningController> {
  const store = openSqliteStore(cfg.dataDir);
  // Agents resume watches from recent revisions; keep enough history for a few minutes of churn.
  await checkStoreFormat(store, cfg.dataDir);
  const compactor = startCompactor(store, { keepRevisions: 10_000, intervalMs: 60_000, logger });
  const gc = startGarbageCollector(store, logger);
  const apps: FastifyInstance[] = [];
  if (cfg.socket) {
    const app = await buildControllerApp({ store, logger, version: VERSION });
    await listenUnix(app, cfg.socket);
    apps.push(app);
  }
  if (cfg.listen) {
    const app = await buildControllerApp({ store, logger, version: VERSION });
    await app.listen(parseHostPort(cfg.listen));
    apps.push(app);
  }
  logger.info({ dataDir: cfg.dataDir, store: 'sqlite', socket: cfg.socket || undefined, http: cfg.listen || undefined, revision: await store.revision() }, 'controller serving API /v1');
  return {
    store,
    apps,
    close: async () => {
      gc.stop();
      await compactor.stop();
      await Promise.all(apps.map((a) => a.close()));
      if (cfg.socket) rmSync(cfg.socket, { force: true });
      await store.close();
    },
  };
}
