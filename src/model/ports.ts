/**
 * Published ports as an endpoint carries them (ADR 016): host port → the endpoint's port,
 * the one desired state `tenet ep expose`, Docker's `-p` and CNI portMappings all write.
 * Validation and the clash rule live here so the controller (which refuses a host port
 * another endpoint of the host holds) and the agent (which realizes them) agree.
 */
import { TenetError } from './errors.js';
import type { PublishedPort } from './types.js';
import { shown } from './validate-endpoint.js';

/** Published ports of one endpoint: enough for any real workload, small enough to stay bounded. */
export const MAX_PORTS = 32;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

/** A ports list from a request: at most MAX_PORTS, whole ports 1-65535, tcp or udp, no host port twice. */
export function validatePorts(ports: unknown): PublishedPort[] {
  if (!Array.isArray(ports)) throw new TenetError('INVALID_PORT', 'ports must be a list of mappings', 'send e.g. {"ports":[{"hostPort":8080,"port":80,"proto":"tcp"}]}');
  if (ports.length > MAX_PORTS) throw new TenetError('INVALID_PORT', `an endpoint can publish at most ${MAX_PORTS} ports (got ${ports.length})`, 'publish fewer');
  const checked = ports.map(validatePort);
  checked.forEach((p, i) => {
    const twin = checked.slice(0, i).find((q) => clashes(p, q));
    if (twin) throw new TenetError('INVALID_PORT', `host port ${portText(p)} is given twice`, 'give each host port once');
  });
  return checked;
}

function validatePort(value: unknown): PublishedPort {
  const p = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  if (!isPort(p.hostPort) || !isPort(p.port) || (p.proto !== 'tcp' && p.proto !== 'udp')) {
    throw new TenetError('INVALID_PORT', `invalid port mapping ${shown(value)}`, 'give hostPort and port in 1-65535 and proto tcp or udp (tenet ep expose ID 8080:80/tcp)');
  }
  if (p.hostIp !== undefined && (typeof p.hostIp !== 'string' || !IPV4.test(p.hostIp))) {
    throw new TenetError('INVALID_IP', `invalid host address ${shown(p.hostIp)} of host port ${p.hostPort}`, 'give a dotted IPv4 address of the host, or none for all of them');
  }
  return { hostPort: p.hostPort, port: p.port, proto: p.proto, ...(p.hostIp !== undefined && p.hostIp !== '0.0.0.0' ? { hostIp: p.hostIp } : {}) };
}

/** Two mappings want the same host port: same protocol and port, and an address in common. */
export function clashes(a: PublishedPort, b: PublishedPort): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort && (!a.hostIp || !b.hostIp || a.hostIp === b.hostIp);
}

/** `8080/tcp` or `10.0.0.1:8080/tcp`, as users type it. */
export function portText(p: Pick<PublishedPort, 'hostPort' | 'proto' | 'hostIp'>): string {
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}/${p.proto}`;
}

/** `8080:80/tcp` (or with its host address): one mapping as `tenet ep ls` shows it. */
export function mappingText(p: PublishedPort): string {
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.port}/${p.proto}`;
}
