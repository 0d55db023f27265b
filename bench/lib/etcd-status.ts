/**
 * Which etcd member leads the raft, asked of one member over etcd's JSON gateway
 * (POST /v3/maintenance/status): the baseline of the leader-move benchmark is etcd's own
 * election after its leader member is killed, timed the same way as Tenet's.
 */
import { request } from 'node:http';

export interface RaftView {
  /** This member's id and the leader it sees ('0' while none is elected). */
  member: string;
  leader: string;
}

export function raftStatus(clientUrl: string, timeoutMs = 1000): Promise<RaftView | undefined> {
  return new Promise((resolve) => {
    const req = request(new URL('/v3/maintenance/status', clientUrl), { method: 'POST', timeout: timeoutMs, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => {
        try {
          const j = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
          resolve(j.header?.member_id ? { member: j.header.member_id, leader: j.leader ?? '0' } : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end('{}');
  });
}
