/**
 * The lab's own etcd (`lab up --store etcd`): three real members of Debian's etcd 3.4 on
 * loopback ports, detached like the agents so they outlive `tenet lab up`, each with its data
 * under the lab directory (`<prefix>-eN.etcd`). The flags and the /health probe are the ones
 * the tests' members use (src/base/etcd-member.ts); this file plans the lab's members and
 * recognizes them. Never the system's etcd service.
 */
import { existsSync } from 'node:fs';
import { ETCD_BINARY, etcdArgv, freePort } from '../base/etcd-member.js';
import { TenetError } from '../model/errors.js';
import type { ResolvedConfig } from './config.js';
import type { LabEtcdMember } from './state.js';

export { ETCD_BINARY, etcdHealth, freePort } from '../base/etcd-member.js';
export const ETCD_MEMBERS = 3;

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
  const options = { cluster: members, token: `tenet-lab-${c.prefix}` };
  return members.map((m) => ({ ...m, argv: etcdArgv(m, options) }));
}

/** A member of this lab: etcd with its data dir under the lab directory. */
export function isLabEtcd(cmdline: string, c: ResolvedConfig): boolean {
  const m = new RegExp(` --data-dir ${c.labDir}/${c.prefix}-e\\d+\\.etcd `).test(` ${cmdline} `);
  return m && cmdline.startsWith(ETCD_BINARY);
}
