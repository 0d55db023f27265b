/**
 * The etcd cluster's health for `tenet status` (ADR 021): the member list, then each member
 * asked on its own (a client per member) for its status, which names the raft leader. A
 * member that does not answer within the deadline is unhealthy with a one-line reason; the
 * store is healthy while a member that answers sees a leader. Never throws.
 */
import { newEtcdClient, type EtcdConnection } from './etcd-client.js';
import type { StoreMember, StoreStatus } from './types.js';

const STATUS_TIMEOUT_MS = 2000;

interface Listed {
  id: string;
  name: string;
  endpoint: string;
}

export async function etcdStatus(conn: EtcdConnection, revision: () => Promise<number>): Promise<StoreStatus> {
  const quick = { ...conn, callTimeoutMs: STATUS_TIMEOUT_MS };
  let listed: Listed[];
  try {
    listed = await listMembers(quick);
  } catch (err) {
    const members = conn.endpoints.map((endpoint) => ({ name: endpoint, endpoint, healthy: false, leader: false, error: oneLine(err) }));
    return { backend: 'etcd', healthy: false, revision: 0, members, error: `no etcd member answered: ${oneLine(err)}` };
  }
  const answers = await Promise.all(listed.map((m) => memberStatus(quick, m)));
  const leaderId = answers.find((a) => a.leader && a.leader !== '0')?.leader;
  const members: StoreMember[] = listed.map((m, i) => {
    const a = answers[i]!;
    const member: StoreMember = { name: m.name, endpoint: m.endpoint, healthy: a.error === undefined, leader: m.id === leaderId };
    if (a.error !== undefined) member.error = a.error;
    return member;
  });
  const healthy = leaderId !== undefined;
  const rev = healthy ? await revision().catch(() => 0) : 0;
  const status: StoreStatus = { backend: 'etcd', healthy, revision: rev, members };
  if (!healthy) status.error = 'no etcd member sees a leader: the cluster has lost its quorum';
  return status;
}

async function listMembers(conn: EtcdConnection): Promise<Listed[]> {
  const client = newEtcdClient(conn);
  try {
    const res = await client.cluster.memberList({});
    return res.members.map((m) => ({ id: m.ID, name: m.name || m.ID, endpoint: m.clientURLs[0] ?? '' }));
  } finally {
    client.close();
  }
}

async function memberStatus(conn: EtcdConnection, m: Listed): Promise<{ leader?: string; error?: string }> {
  if (!m.endpoint) return { error: 'the member has not started yet (no client URL)' };
  const client = newEtcdClient(conn, [m.endpoint]);
  try {
    const res = await client.maintenance.status();
    if (!res.leader || res.leader === '0') return { error: 'the member sees no leader (the cluster has lost its quorum)' };
    return { leader: res.leader };
  } catch (err) {
    return { error: oneLine(err) };
  } finally {
    client.close();
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
