/**
 * Docker's `-p` in Tenet's terms (ADR 016): ProgramExternalConnectivity's Options carry
 * `com.docker.network.portmap`, libnetwork's PortBinding list
 * `[{Proto: 6|17, IP, Port, HostIP, HostPort, HostPortEnd}]`, which becomes the endpoint's
 * published ports. Docker leaves the choice of a random host port (`-p 80`, `-P`: HostPort 0)
 * and of a port from a range (`-p 8080-8090:80`) to the driver; Tenet refuses both clearly,
 * since the port it picked would not show in `docker port` (ADR 016 says why).
 * `com.docker.network.endpoint.exposedports` (EXPOSE without -p) publishes nothing, as in Docker.
 */
import { TenetError } from '../model/errors.js';
import { validatePorts } from '../model/ports.js';
import type { PublishedPort } from '../model/types.js';

export const PORTMAP_OPTION = 'com.docker.network.portmap';
const PROTOS: Record<number, 'tcp' | 'udp'> = { 6: 'tcp', 17: 'udp' };

interface PortBinding {
  Proto?: number;
  Port?: number;
  HostIP?: string;
  HostPort?: number;
  HostPortEnd?: number;
}

/** The published ports a ProgramExternalConnectivity's Options ask for (none: []). */
export function portsFromOptions(options: unknown): PublishedPort[] {
  const all = (options && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const raw = all[PORTMAP_OPTION];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new TenetError('INVALID_PORT', `${PORTMAP_OPTION} is not a list`, 'this dockerd speaks another protocol version: report it');
  const ports = raw.flatMap((b: PortBinding) => toPort(b ?? {}));
  // An IPv4 and an IPv6 binding of the same port become one mapping (Tenet is IPv4 only).
  const unique = [...new Map(ports.map((p) => [JSON.stringify(p), p])).values()];
  return validatePorts(unique);
}

function toPort(b: PortBinding): PublishedPort[] {
  const proto = PROTOS[b.Proto ?? -1];
  if (!proto) throw new TenetError('INVALID_PORT', `protocol ${b.Proto} of port ${b.Port} cannot be published`, 'publish tcp or udp ports (-p 8080:80 or -p 8080:80/udp)');
  if (!b.HostPort) throw new TenetError('INVALID_PORT', `port ${b.Port}/${proto} asks for a random host port, which Tenet does not pick`, `give the host port: -p HOSTPORT:${b.Port}/${proto}`);
  if (b.HostPortEnd && b.HostPortEnd !== b.HostPort) {
    throw new TenetError('INVALID_PORT', `port ${b.Port}/${proto} asks for a host port from the range ${b.HostPort}-${b.HostPortEnd}`, `give one host port: -p ${b.HostPort}:${b.Port}/${proto}`);
  }
  const ip = b.HostIP ?? '';
  if (ip.includes(':')) return []; // IPv6: Tenet networks are IPv4 only
  return [{ hostPort: b.HostPort, port: b.Port ?? 0, proto, ...(ip && ip !== '0.0.0.0' ? { hostIp: ip } : {}) }];
}
