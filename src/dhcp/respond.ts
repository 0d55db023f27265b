/**
 * What Tenet's DHCP server answers (RFC 2131 §4.3), as a pure function of one parsed client
 * message and the endpoint its hardware address names. There is no pool: the only address
 * ever offered is the one Tenet's IPAM gave the endpoint, so the server keeps no lease state
 * (a RELEASE changes nothing, a DECLINE is logged as a conflict). A MAC Tenet does not know
 * on this host gets nothing at all, so a second DHCP server on the network is not disturbed.
 */
import { formatIp, maskOf, parseIp } from '../base/cidr.js';
import { encodeReply, MessageType, type ClientMessage, type LeaseParams } from './wire.js';

/** The endpoint a MAC names, with everything its lease carries. */
export interface Binding {
  tenant: string;
  network: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mtu: number;
  dns: string[];
  search: string[];
}

export const DEFAULT_LEASE_SECONDS = 3600;

export interface Outcome {
  /** Counted by the caller: offer, ack, nak, inform, release, decline, or why nothing was sent. */
  result: string;
  reply?: Buffer;
  /** Where the reply goes: the endpoint's address and MAC (ADR 020, "Replies"). */
  to?: { ip: string; mac: string };
  binding?: Binding;
}

export function leaseParams(b: Binding, leaseSeconds: number): LeaseParams {
  const ip = parseIp(b.ip)!;
  const mask = maskOf(b.prefixLen);
  return {
    subnetMask: formatIp(mask),
    broadcast: formatIp((ip | ~mask) >>> 0),
    router: b.gateway,
    dns: b.dns,
    domain: b.search[0] ?? '',
    search: b.search,
    mtu: b.mtu,
    leaseSeconds,
  };
}

export function respond(msg: ClientMessage, lookup: (mac: string) => Binding | undefined, leaseSeconds = DEFAULT_LEASE_SECONDS): Outcome {
  // A relay agent would need replies via giaddr; Tenet's networks have no relays.
  if (msg.giaddr !== '0.0.0.0') return { result: 'relayed' };
  const b = lookup(msg.chaddr);
  if (!b) return { result: 'unknown-mac' };
  const to = { ip: b.ip, mac: msg.chaddr };
  const params = leaseParams(b, leaseSeconds);
  const reply = (type: MessageType.OFFER | MessageType.ACK | MessageType.NAK, result: string, extra: { noLease?: boolean; yiaddr?: string } = {}): Outcome => ({
    result,
    to,
    binding: b,
    reply: encodeReply({ type, request: msg, yiaddr: extra.yiaddr ?? b.ip, serverId: b.gateway, ...(type === MessageType.NAK ? {} : { params }), ...(extra.noLease ? { noLease: true } : {}) }),
  });
  switch (msg.type) {
    case MessageType.DISCOVER:
      return reply(MessageType.OFFER, 'offer');
    case MessageType.REQUEST: {
      // SELECTING names the server it chose: another server's offer was taken, stay silent.
      if (msg.serverId !== undefined && msg.serverId !== b.gateway) return { result: 'other-server', binding: b };
      const asked = msg.requestedIp ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : undefined);
      return asked === b.ip ? reply(MessageType.ACK, 'ack') : reply(MessageType.NAK, 'nak', { yiaddr: '0.0.0.0' });
    }
    case MessageType.INFORM:
      return reply(MessageType.ACK, 'inform', { noLease: true, yiaddr: '0.0.0.0' });
    case MessageType.RELEASE:
      return { result: 'release', binding: b };
    case MessageType.DECLINE:
      return { result: 'decline', binding: b };
    default:
      return { result: 'bad-type', binding: b };
  }
}
