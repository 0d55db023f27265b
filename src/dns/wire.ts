/**
 * DNS messages on the wire: dns-packet decodes and encodes (docs/adr/017); this file adds
 * what a server facing hostile input needs before and around it. The 12-byte header is
 * checked by hand first, so a packet that is not one plain query (a response, several
 * questions, records where a query has none, oversize) is dropped without being decoded:
 * never answering a response also means two servers can never loop on each other.
 */
import dnsPacket from 'dns-packet';

/** Largest query accepted (RFC 1035's UDP size): a real query with EDNS is far smaller. */
export const MAX_QUERY_BYTES = 512;
/** Classic UDP answer size without EDNS (RFC 1035 4.2.1). */
export const UDP_DEFAULT_LIMIT = 512;
/** Largest UDP answer offered to an EDNS client: the DNS flag day 2020 size, no fragmentation. */
export const UDP_EDNS_LIMIT = 1232;

export interface Query {
  id: number;
  /** As asked (its case is echoed back), without the trailing dot. */
  name: string;
  type: string;
  qclass: string;
  recursionDesired: boolean;
  /** The UDP answer size the client accepts (EDNS), or the classic 512. */
  udpLimit: number;
  edns: boolean;
}

/** Why a packet was dropped; the server counts each reason. */
export type DropReason = 'short' | 'oversized' | 'not-a-query' | 'malformed' | 'bad-name';

export type Parsed = { ok: true; query: Query } | { ok: false; reason: DropReason };

/** Letters, digits, dash and underscore per label, 1..63 bytes: anything else is dropped. */
const LABEL = /^[A-Za-z0-9_-]{1,63}$/;

export function parseQuery(buf: Buffer): Parsed {
  if (buf.length < 12) return { ok: false, reason: 'short' };
  if (buf.length > MAX_QUERY_BYTES) return { ok: false, reason: 'oversized' };
  const flags = buf.readUInt16BE(2);
  const opcode = (flags >> 11) & 0xf;
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  if (flags & 0x8000 || opcode !== 0 || qd !== 1 || an !== 0 || ns !== 0 || ar! > 1) return { ok: false, reason: 'not-a-query' };
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const q = packet.questions?.[0];
  if (!q || typeof q.name !== 'string') return { ok: false, reason: 'malformed' };
  const name = q.name === '.' ? '' : q.name.replace(/\.$/, '');
  if (name !== '' && !name.split('.').every((l) => LABEL.test(l))) return { ok: false, reason: 'bad-name' };
  const opt = packet.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const udpLimit = opt ? Math.min(Math.max(opt.udpPayloadSize ?? 0, UDP_DEFAULT_LIMIT), UDP_EDNS_LIMIT) : UDP_DEFAULT_LIMIT;
  const recursionDesired = (flags & dnsPacket.RECURSION_DESIRED) !== 0;
  return { ok: true, query: { id: packet.id ?? 0, name, type: String(q.type), qclass: String(q.class ?? 'IN'), recursionDesired, udpLimit, edns: opt !== undefined } };
}

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export interface Reply {
  rcode: Rcode;
  /** Authoritative: a name of the tenant's zone (answered or not). */
  authoritative: boolean;
  answers: dnsPacket.Answer[];
}

/** Answers stay valid this long in a client's cache: short, since endpoints come and go. */
export const TTL_SECONDS = 5;

/**
 * The encoded answer. Over UDP one that exceeds the client's limit goes out as its header and
 * question with TC set, so the client asks again over TCP (RFC 7766).
 */
export function encodeReply(q: Query, reply: Reply, udpLimit?: number): Buffer {
  let flags = RCODES[reply.rcode];
  if (reply.authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (q.recursionDesired) flags |= dnsPacket.RECURSION_DESIRED;
  const additionals: dnsPacket.Answer[] = q.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS_LIMIT } as dnsPacket.Answer] : [];
  const questions: dnsPacket.Question[] = [{ name: q.name || '.', type: q.type as dnsPacket.RecordType, class: q.qclass as dnsPacket.RecordClass }];
  const full = dnsPacket.encode({ id: q.id, type: 'response', flags, questions, answers: reply.answers, additionals });
  if (udpLimit === undefined || full.length <= udpLimit) return full;
  return dnsPacket.encode({ id: q.id, type: 'response', flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions, answers: [], additionals });
}
