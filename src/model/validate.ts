/**
 * Input validation shared by the controller, the agent and the CLI. Each check throws a
 * catalogued TenetError whose message names the bad value and the way to fix it, so bad
 * input is rejected before anything changes.
 */
import { contains, formatCidr, formatIp, overlaps, parseCidr, parseIp, usableRange, type Cidr } from '../base/cidr.js';
import { TenetError } from './errors.js';
import { quoteValue } from './quote.js';

export { quoteValue } from './quote.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$|^[a-z0-9]$/;
const HOST_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/i;
const IFNAME = /^[a-zA-Z0-9_.-]{1,15}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export const MAX_VNI = 0xffffff;

export function validateName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TenetError(
      'INVALID_NAME',
      `invalid ${kind} name ${quoteValue(name)}`,
      'use 1-32 lowercase letters, digits or dashes, starting and ending with a letter or digit',
    );
  }
  return name;
}

export function validateHostName(name: unknown): string {
  if (typeof name !== 'string' || !HOST_NAME.test(name)) {
    throw new TenetError('INVALID_NAME', `invalid host name ${quoteValue(name)}`, 'use letters, digits, dots or dashes (at most 63)');
  }
  return name;
}

export function validateSubnet(text: unknown): Cidr {
  const cidr = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!cidr) {
    throw new TenetError('INVALID_CIDR', `invalid subnet ${quoteValue(text)}`, 'give an IPv4 network such as 192.168.10.0/24 (host bits clear)');
  }
  if (cidr.prefixLen > 30) {
    throw new TenetError('INVALID_CIDR', `subnet ${formatCidr(cidr)} is too small`, 'use a prefix of /30 or shorter so it holds a gateway and an endpoint');
  }
  const reserved = RESERVED.find((r) => overlaps(r.cidr, cidr));
  if (reserved) {
    const range = formatCidr(reserved.cidr);
    throw new TenetError('INVALID_CIDR', `subnet ${formatCidr(cidr)} overlaps ${range} (${reserved.why}), which no network can use`, 'use a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16');
  }
  return cidr;
}

/** Ranges the kernel treats specially: an address there never behaves as a workload's (RFC 6890). */
const RESERVED: { cidr: Cidr; why: string }[] = [
  { text: '0.0.0.0/8', why: '"this network": source-only addresses' },
  { text: '127.0.0.0/8', why: 'loopback: never leaves a host' },
  { text: '169.254.0.0/16', why: 'link-local: never routed' },
  { text: '224.0.0.0/4', why: 'multicast: not a unicast address' },
  { text: '240.0.0.0/4', why: 'reserved, with the broadcast address' },
].map((r) => ({ cidr: parseCidr(r.text)!, why: r.why }));

export function validateIp(field: string, text: unknown): number {
  const ip = typeof text === 'string' ? parseIp(text) : undefined;
  if (ip === undefined) {
    throw new TenetError('INVALID_IP', `invalid ${field} ${quoteValue(text)}`, 'give a dotted IPv4 address such as 192.168.10.5');
  }
  return ip;
}

/** The gateway must be a usable host address of the subnet; default is the first one. */
export function resolveGateway(subnet: Cidr, gateway: unknown): string {
  const { first, last } = usableRange(subnet);
  if (gateway === undefined || gateway === null || gateway === '') return formatIp(first);
  const gw = validateIp('gateway', gateway);
  if (!contains(subnet, gw) || gw < first || gw > last) {
    throw new TenetError(
      'GATEWAY_OUTSIDE_SUBNET',
      `gateway ${formatIp(gw)} is not a usable address of ${formatCidr(subnet)}`,
      `pick one from ${formatIp(first)} to ${formatIp(last)}, or leave it out for ${formatIp(first)}`,
    );
  }
  return formatIp(gw);
}

export function validateMtu(mtu: unknown): number {
  if (mtu === undefined || mtu === null || mtu === 0) return 0;
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 9000) {
    throw new TenetError('INVALID_MTU', `invalid MTU ${quoteValue(mtu)}`, 'give a whole number from 576 to 9000, or leave it out for underlay MTU - 50');
  }
  return mtu;
}

export function validateVni(vni: unknown): number | undefined {
  if (vni === undefined || vni === null || vni === 0) return undefined;
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 1 || vni > MAX_VNI) {
    throw new TenetError('INVALID_VNI', `invalid VNI ${quoteValue(vni)}`, `give a whole number from 1 to ${MAX_VNI}, or leave it out to allocate one`);
  }
  return vni;
}

export function validateMac(mac: unknown): string | undefined {
  if (mac === undefined || mac === null || mac === '') return undefined;
  const text = typeof mac === 'string' ? mac.toLowerCase() : '';
  const first = parseInt(text.slice(0, 2), 16);
  if (!MAC.test(text) || (first & 1) === 1 || text === '00:00:00:00:00:00') {
    throw new TenetError('INVALID_MAC', `invalid MAC address ${quoteValue(mac)}`, 'give a unicast address such as 02:00:00:00:00:05');
  }
  return text;
}

export function validateIfname(name: unknown): string {
  if (name === undefined || name === null || name === '') return 'eth0';
  if (typeof name !== 'string' || !IFNAME.test(name)) {
    throw new TenetError('INVALID_IFNAME', `invalid interface name ${quoteValue(name)}`, 'use 1-15 letters, digits, dots, dashes or underscores');
  }
  return name;
}

export function requireString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TenetError('BAD_REQUEST', `missing or invalid field "${field}"`, 'it must be a non-empty string');
  }
  return value;
}

const NETNS_CHARS = /^[A-Za-z0-9_.:@/-]+$/;
export const MAX_NETNS_PATH = 255;

/**
 * Why a namespace path (or a bare name, meaning /run/netns/NAME) is unsafe, or undefined.
 * The path reaches `ip -batch` lines and `nsenter --net=` (issue #5: a newline in it became
 * a second command, a space an extra argument), so only a plain path passes: no whitespace
 * or control characters, no `.`/`..` components, at most 255 characters.
 */
export function netnsProblem(text: string): string | undefined {
  if (text.length === 0) return 'it is empty';
  if (text.length > MAX_NETNS_PATH) return `it is longer than ${MAX_NETNS_PATH} characters`;
  if (!NETNS_CHARS.test(text)) return 'it may only hold letters, digits and _ . : @ / -';
  if (text.includes('/') && !text.startsWith('/')) return 'a path must be absolute';
  if (text.split('/').some((part) => part === '.' || part === '..')) return 'it may not have . or .. components';
  return undefined;
}

/** The absolute path of a namespace given by path or by name; throws BAD_REQUEST when unsafe. */
export function validateNetns(value: unknown): string {
  const problem = typeof value === 'string' ? netnsProblem(value) : `it is a ${value === null ? 'null' : typeof value}, not a string`;
  if (problem !== undefined) {
    throw new TenetError('BAD_REQUEST', `invalid netns ${quoteValue(value)}: ${problem}`, 'give a namespace name (ip netns list) or a path such as /run/netns/NAME or /proc/PID/ns/net');
  }
  const text = value as string;
  return text.startsWith('/') ? text : `/run/netns/${text}`;
}

/**
 * A network's DNS forwarder (issue 10): a unicast IPv4 address outside the reserved ranges.
 * Loopback is refused on purpose: the agent forwards from the host's own namespace, and a
 * tenant must not reach the host's local services (a resolver on 127.0.0.53 included).
 */
export function validateDnsUpstream(text: unknown): string {
  const ip = validateIp('DNS upstream', text);
  const reserved = RESERVED.find((r) => contains(r.cidr, ip));
  if (reserved) {
    throw new TenetError('INVALID_IP', `DNS upstream ${formatIp(ip)} is in ${formatCidr(reserved.cidr)} (${reserved.why})`, 'give the unicast address of a DNS server the hosts can reach, such as 198.51.100.53');
  }
  return formatIp(ip);
}
