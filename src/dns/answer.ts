/**
 * One DNS packet in, at most one packet out: parse (wire.ts), resolve in the tenant's zone
 * (zone.ts), encode. Pure, so the fuzz test can drive it directly as well as over sockets.
 * Whatever goes wrong ends as a counted drop, never as an exception.
 */
import type dnsPacket from 'dns-packet';
import { encodeReply, parseQuery, TTL_SECONDS, type DropReason, type Reply } from './wire.js';
import type { Outcome, TenantZone } from './zone.js';

export type Result = 'answered' | 'nxdomain' | 'nodata' | 'refused' | 'servfail' | 'truncated' | DropReason | 'encode-failed';

export interface Answered {
  result: Result;
  packet?: Buffer;
  /**
   * Set when the name is outside the tenant's zone and the network has a DNS upstream: the
   * caller forwards the query there instead of sending `packet` (REFUSED), and sends
   * `servfail` when the forward fails. Never set for a name of the zone.
   */
  forward?: { upstream: string; servfail: Buffer };
}

/**
 * `zone`: the tenant's, or undefined while the agent has no view of it (SERVFAIL: the
 * client tries again). `udpLimit`: set for UDP, where a larger answer is truncated.
 */
export function answerPacket(buf: Buffer, zone: TenantZone | undefined, network: string, udp: boolean): Answered {
  const parsed = parseQuery(buf);
  if (!parsed.ok) return { result: parsed.reason };
  const q = parsed.query;
  const outcome: Outcome = zone && q.qclass === 'IN' ? zone.resolve(q.name, q.type, network) : { kind: 'refused' };
  const reply = zone ? replyOf(q.name, outcome) : { rcode: 'SERVFAIL' as const, authoritative: false, answers: [] };
  try {
    const packet = encodeReply(q, reply, udp ? q.udpLimit : undefined);
    const truncated = (packet.readUInt16BE(2) & 0x0200) !== 0;
    const upstream = outcome.kind === 'refused' && q.qclass === 'IN' ? zone?.upstream(network) : undefined;
    if (upstream) return { result: 'refused', packet, forward: { upstream, servfail: encodeReply(q, { rcode: 'SERVFAIL', authoritative: false, answers: [] }) } };
    return { result: truncated ? 'truncated' : resultOf(reply, outcome), packet };
  } catch {
    return { result: 'encode-failed' };
  }
}

function replyOf(name: string, o: Outcome): Reply {
  const rr = (type: 'A' | 'PTR', data: string): dnsPacket.Answer => ({ name: name || '.', type, class: 'IN', ttl: TTL_SECONDS, data });
  switch (o.kind) {
    case 'a':
      return { rcode: 'NOERROR', authoritative: true, answers: [rr('A', o.ip)] };
    case 'ptr':
      return { rcode: 'NOERROR', authoritative: true, answers: [rr('PTR', o.name)] };
    case 'nodata':
      return { rcode: 'NOERROR', authoritative: true, answers: [] };
    case 'nxdomain':
      return { rcode: 'NXDOMAIN', authoritative: true, answers: [] };
    case 'refused':
      return { rcode: 'REFUSED', authoritative: false, answers: [] };
  }
}

function resultOf(reply: Reply, o: Outcome): Result {
  if (reply.rcode === 'SERVFAIL') return 'servfail';
  return o.kind === 'a' || o.kind === 'ptr' ? 'answered' : o.kind;
}
