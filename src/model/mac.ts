/**
 * Deterministic MAC addresses. An endpoint's default MAC embeds its IPv4 address (as
 * Kubernetes' 0a:58 prefix does), so it is unique within a network without allocation.
 * The gateway MAC embeds the VNI and is identical on every host: the anycast gateway.
 */
import { parseIp } from '../base/cidr.js';

function bytesToMac(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function endpointMac(ip: string): string {
  const n = parseIp(ip) ?? 0;
  return bytesToMac([0x0a, 0x58, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

export function gatewayMac(vni: number): string {
  return bytesToMac([0x02, 0x74, 0x6e, (vni >>> 16) & 255, (vni >>> 8) & 255, vni & 255]);
}
