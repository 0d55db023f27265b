/**
 * DHCPv4 wire format (RFC 2131 §2, RFC 2132), written by hand (docs/adr/020): a strict
 * parser of client messages and an encoder of the server's replies. Only what a server of
 * fixed addresses needs is read; everything else about a packet must still be well formed
 * (lengths inside the packet, the magic cookie, one END), or the packet is refused with a
 * reason the caller counts. Nothing here throws on client input.
 */

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
/** The largest DHCP message we read: an Ethernet MTU's worth (RFC 2131 allows up to 576 by default). */
export const MAX_MESSAGE_BYTES = 1500;
/** op + htype + hlen + hops + xid + secs + flags + 4 addresses + chaddr(16) + sname(64) + file(128). */
const FIXED = 236;
const MAGIC = 0x63825363;
/** Replies are padded to the BOOTP minimum some clients insist on. */
const MIN_REPLY = 300;

export enum MessageType {
  DISCOVER = 1,
  OFFER = 2,
  REQUEST = 3,
  DECLINE = 4,
  ACK = 5,
  NAK = 6,
  RELEASE = 7,
  INFORM = 8,
}

export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  MTU: 26,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMS: 55,
  MESSAGE: 56,
  RENEWAL: 58,
  REBINDING: 59,
  CLIENT_ID: 61,
  DOMAIN_SEARCH: 119,
  END: 255,
} as const;

export interface ClientMessage {
  type: MessageType;
  xid: number;
  flags: number;
  ciaddr: string;
  giaddr: string;
  /** Client hardware address, lowercase "aa:bb:cc:dd:ee:ff". */
  chaddr: string;
  requestedIp?: string;
  serverId?: string;
  options: Map<number, Buffer>;
}

export type ParseResult = { ok: true; msg: ClientMessage } | { ok: false; reason: DropReason };

export type DropReason = 'short' | 'oversized' | 'not-a-request' | 'not-ethernet' | 'no-magic' | 'bad-options' | 'no-type' | 'bad-type';

const ipAt = (b: Buffer, off: number) => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;

export function parseClientMessage(b: Buffer): ParseResult {
  if (b.length < FIXED + 4) return { ok: false, reason: 'short' };
  if (b.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversized' };
  if (b[0] !== 1) return { ok: false, reason: 'not-a-request' };
  if (b[1] !== 1 || b[2] !== 6) return { ok: false, reason: 'not-ethernet' };
  if (b.readUInt32BE(FIXED) !== MAGIC) return { ok: false, reason: 'no-magic' };
  const options = parseOptions(b.subarray(FIXED + 4));
  if (!options) return { ok: false, reason: 'bad-options' };
  const t = options.get(Opt.MESSAGE_TYPE);
  if (!t) return { ok: false, reason: 'no-type' };
  if (t.length !== 1 || t[0]! < 1 || t[0]! > 8) return { ok: false, reason: 'bad-type' };
  const addr = (code: number) => {
    const v = options.get(code);
    return v?.length === 4 ? ipAt(v, 0) : undefined;
  };
  const msg: ClientMessage = {
    type: t[0] as MessageType,
    xid: b.readUInt32BE(4),
    flags: b.readUInt16BE(10),
    ciaddr: ipAt(b, 12),
    giaddr: ipAt(b, 24),
    chaddr: [...b.subarray(28, 34)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
    options,
  };
  const requestedIp = addr(Opt.REQUESTED_IP);
  const serverId = addr(Opt.SERVER_ID);
  if (requestedIp) msg.requestedIp = requestedIp;
  if (serverId) msg.serverId = serverId;
  return { ok: true, msg };
}

/** The options area, or undefined when malformed: a length past the end, a repeated option, no END. */
function parseOptions(b: Buffer): Map<number, Buffer> | undefined {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < b.length) {
    const code = b[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) return out;
    if (i + 1 >= b.length) return undefined;
    const len = b[i + 1]!;
    if (i + 2 + len > b.length || out.has(code)) return undefined;
    out.set(code, b.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return undefined;
}

/** What a reply carries besides the header: the lease's parameters. */
export interface ReplyFields {
  type: MessageType.OFFER | MessageType.ACK | MessageType.NAK;
  request: ClientMessage;
  /** The address given (0.0.0.0 for INFORM and NAK). */
  yiaddr: string;
  serverId: string;
  /** Absent for NAK. */
  params?: LeaseParams;
  /** INFORM's ACK carries no lease time (RFC 2131 §3.4). */
  noLease?: boolean;
}

export interface LeaseParams {
  subnetMask: string;
  broadcast: string;
  router: string;
  dns: string[];
  /** Option 15: the first of the search list. */
  domain: string;
  search: string[];
  mtu: number;
  leaseSeconds: number;
}

const ipBytes = (ip: string) => Buffer.from(ip.split('.').map(Number));

function option(code: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** RFC 1035 names, uncompressed (RFC 3397 allows compression; clients read either). */
export function encodeSearch(names: string[]): Buffer {
  return Buffer.concat(names.map((n) => Buffer.concat([...n.split('.').filter((l) => l).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])])));
}

export function encodeReply(f: ReplyFields): Buffer {
  const head = Buffer.alloc(FIXED + 4);
  head[0] = 2;
  head[1] = 1;
  head[2] = 6;
  head.writeUInt32BE(f.request.xid, 4);
  head.writeUInt16BE(f.request.flags & 0x8000, 10);
  if (f.type !== MessageType.NAK) ipBytes(f.request.ciaddr).copy(head, 12);
  ipBytes(f.yiaddr).copy(head, 16);
  ipBytes(f.request.giaddr).copy(head, 24);
  Buffer.from(f.request.chaddr.split(':').map((h) => parseInt(h, 16))).copy(head, 28);
  head.writeUInt32BE(MAGIC, FIXED);
  const opts = [option(Opt.MESSAGE_TYPE, Buffer.from([f.type])), option(Opt.SERVER_ID, ipBytes(f.serverId))];
  const p = f.params;
  if (p) {
    if (!f.noLease) {
      opts.push(option(Opt.LEASE_TIME, u32(p.leaseSeconds)), option(Opt.RENEWAL, u32(Math.floor(p.leaseSeconds / 2))), option(Opt.REBINDING, u32(Math.floor((p.leaseSeconds * 7) / 8))));
    }
    opts.push(option(Opt.SUBNET_MASK, ipBytes(p.subnetMask)), option(Opt.BROADCAST, ipBytes(p.broadcast)), option(Opt.ROUTER, ipBytes(p.router)));
    if (p.dns.length) opts.push(option(Opt.DNS, Buffer.concat(p.dns.map(ipBytes))));
    if (p.domain.length <= 255) opts.push(option(Opt.DOMAIN_NAME, Buffer.from(p.domain, 'ascii')));
    const search = encodeSearch(p.search);
    if (search.length <= 255) opts.push(option(Opt.DOMAIN_SEARCH, search));
    const mtu = Buffer.alloc(2);
    mtu.writeUInt16BE(p.mtu);
    opts.push(option(Opt.MTU, mtu));
  }
  opts.push(Buffer.from([Opt.END]));
  const out = Buffer.concat([head, ...opts]);
  return out.length >= MIN_REPLY ? out : Buffer.concat([out, Buffer.alloc(MIN_REPLY - out.length)]);
}
