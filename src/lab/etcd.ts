/**
 * The lab's own etcd (`lab up --store etcd`): three real members of Debian's etcd 3.4 on
 * loopback ports, detached like the agents so they outlive `tenet lab up`, each with its data
 * under the lab directory (`<prefix>-eN.etcd`). The lab may not import the store layer, so
 * this is the lab's own small copy of the test harness's logic (src/store/testing/etcd-server.ts):
 * the same flags, the same /health probe. Never the system's etcd service.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { TenetError } from '../model/errors.js';
import type { ResolvedConfig } from './config.js';
import type { LabEtcdMember } from './state.js';

export const ETCD_BINARY = '/usr/bin/etcd';
export const ETCD_MEMBERS = 3;

/** A port nobody listens on now (the kernel picks it); the member binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const etcdDataDir = (c: ResolvedConfig, name: string) => `${c.labDir}/${c.prefix}-${name}.etcd`;
/** `down` finds members and their data by this even when the state file is lost. */
export const etcdDirPattern = (prefix: string) => new RegExp(`^${prefix}-e\\d+\\.etcd$`);

export async function planEtcd(c: ResolvedConfig): Promise<LabEtcdMember[]> {
  if (!existsSync(ETCD_BINARY)) throw new TenetError('LAB_ERROR', `lab up --store etcd needs ${ETCD_BINARY}, which is missing`, 'install etcd-server (apt-get install etcd-server); its service need not run');
  const members: Omit<LabEtcdMember, 'argv'>[] = [];
  for (let i = 1; i <= ETCD_MEMBERS; i++) {
    const name = `e${i}`;
    const [client, peer] = [await freePort(), await freePort()];
    members.push({ name, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, dataDir: etcdDataDir(c, name), log: `${c.labDir}/${c.prefix}-${name}.log` });
  }
  const cluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  return members.map((m) => ({ ...m, argv: etcdArgv(c, m, cluster) }));
}

function etcdArgv(c: ResolvedConfig, m: Omit<LabEtcdMember, 'argv'>, cluster: string): string[] {
  return [
    ETCD_BINARY,
    ...['--name', m.name, '--data-dir', m.dataDir],
    ...['--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl],
    ...['--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl],
    // "new" is ignored once the data dir holds a member: a restart rejoins with its data.
    ...['--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `tenet-lab-${c.prefix}`],
    ...['--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn'],
  ];
}

/** A member of this lab: etcd with its data dir under the lab directory. */
export function isLabEtcd(cmdline: string, c: ResolvedConfig): boolean {
  const m = new RegExp(` --data-dir ${c.labDir}/${c.prefix}-e\\d+\\.etcd `).test(` ${cmdline} `);
  return m && cmdline.startsWith(ETCD_BINARY);
}

/** What the member's /health says: 'healthy' (it has a leader), 'up' (answers, no quorum), or 'down'. */
export function etcdHealth(clientUrl: string, timeoutMs = 1000): Promise<'healthy' | 'up' | 'down'> {
  return new Promise((resolve) => {
    const req = request(new URL('/health', clientUrl), { timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve(/"health":\s*"true"/.test(body) ? 'healthy' : 'up'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('down'));
    req.end();
  });
}
