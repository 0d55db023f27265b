/**
 * `tenet ep expose ID 8080:80[/tcp|/udp] ... [--host-ip A]` and `tenet ep unexpose ID
 * [8080[/tcp]] ...` (ADR 016): the endpoint's published ports are one list in the controller,
 * so both commands read it, change it here and write it back whole. Specs are parsed here so
 * every mistake gets one clear sentence before anything is sent.
 */
import type { Command } from 'commander';
import { mappingText, portText } from '../model/ports.js';
import type { Endpoint, PortProto, PublishedPort } from '../model/types.js';
import type { Column } from '../base/table.js';
import { printOne, withController } from './context.js';

const SPEC = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/i;
const HOST_PORT = /^(\d{1,5})(?:\/(tcp|udp))?$/i;

/** `[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]`; tcp by default, `hostIp` when the spec names none. */
export function parsePortSpec(spec: string, hostIp?: string): PublishedPort | string {
  const m = SPEC.exec(spec);
  if (!m) return `invalid port '${spec}' (use HOSTPORT:PORT, HOSTPORT:PORT/udp or HOSTIP:HOSTPORT:PORT)`;
  const [hostPort, port] = [Number(m[2]), Number(m[3])];
  if (hostPort < 1 || hostPort > 65535 || port < 1 || port > 65535) return `invalid port '${spec}' (ports are 1-65535)`;
  const ip = m[1] ?? hostIp;
  return { hostPort, port, proto: (m[4]?.toLowerCase() ?? 'tcp') as PortProto, ...(ip ? { hostIp: ip } : {}) };
}

/** `HOSTPORT[/tcp|/udp]`: which published ports `unexpose` removes (no protocol: both). */
export function parseHostPort(spec: string): { hostPort: number; proto?: PortProto } | string {
  const m = HOST_PORT.exec(spec);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) return `invalid host port '${spec}' (use HOSTPORT or HOSTPORT/tcp, HOSTPORT/udp)`;
  return { hostPort: Number(m[1]), ...(m[2] ? { proto: m[2].toLowerCase() as PortProto } : {}) };
}

/** The endpoint's ports with `added`: a host port given again is replaced, not doubled. */
export function withPorts(current: PublishedPort[], added: PublishedPort[]): PublishedPort[] {
  const same = (a: PublishedPort, b: PublishedPort) => a.hostPort === b.hostPort && a.proto === b.proto && (a.hostIp ?? '') === (b.hostIp ?? '');
  return [...current.filter((c) => !added.some((a) => same(a, c))), ...added];
}

/** The endpoint's ports without those named (none named: all); a name matching nothing is an error. */
export function withoutPorts(current: PublishedPort[], named: { hostPort: number; proto?: PortProto }[]): PublishedPort[] | string {
  const hit = (p: PublishedPort, n: { hostPort: number; proto?: PortProto }) => p.hostPort === n.hostPort && (!n.proto || n.proto === p.proto);
  const missing = named.find((n) => !current.some((p) => hit(p, n)));
  if (missing) return `the endpoint publishes no host port ${missing.hostPort}${missing.proto ? `/${missing.proto}` : ''} (it publishes ${current.map(portText).join(', ') || 'none'})`;
  return named.length === 0 ? [] : current.filter((p) => !named.some((n) => hit(p, n)));
}

/** The PORTS column and `ep show`'s ports line: `8080:80/tcp,53:53/udp`, or `-`. */
export const portsText = (e: Endpoint): string => (e.ports ?? []).map(mappingText).join(',') || '-';

const portsColumns: Column<Endpoint>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'NAME', value: (e) => e.name ?? '-' },
  { header: 'HOST', value: (e) => e.host ?? '-' },
  { header: 'IP', value: (e) => e.ip },
  { header: 'PORTS', value: portsText },
];

function parsed<T>(values: (T | string)[], cmd: Command): T[] {
  const bad = values.find((v): v is string => typeof v === 'string');
  if (bad) cmd.error(`error: ${bad}`);
  return values as T[];
}

export function addPortCommands(ep: Command): void {
  ep.command('expose')
    .description("publish ports of the endpoint on its host's addresses: HOSTPORT reaches the endpoint's PORT from the host and other hosts")
    .argument('<id>', 'endpoint id')
    .argument('<ports...>', 'HOSTPORT:PORT[/tcp|/udp] or HOSTIP:HOSTPORT:PORT[/proto] (tcp by default)')
    .option('--host-ip <address>', "only this address of the host (default: all of the host's addresses but loopback)")
    .action(async (id: string, specs: string[], opts: { hostIp?: string }, cmd: Command) => {
      const added = parsed(specs.map((s) => parsePortSpec(s, opts.hostIp)), cmd);
      const next = await withController(cmd, async (c) => c.setEndpointPorts(id, withPorts((await c.getEndpoint(id)).ports ?? [], added)));
      printOne(cmd, next, portsColumns);
    });

  ep.command('unexpose')
    .description('stop publishing ports of the endpoint (no port given: all of them)')
    .argument('<id>', 'endpoint id')
    .argument('[ports...]', 'HOSTPORT or HOSTPORT/tcp, HOSTPORT/udp (no protocol: both)')
    .action(async (id: string, specs: string[], _opts: object, cmd: Command) => {
      const named = parsed(specs.map(parseHostPort), cmd);
      const next = await withController(cmd, async (c) => {
        const rest = withoutPorts((await c.getEndpoint(id)).ports ?? [], named);
        if (typeof rest === 'string') cmd.error(`error: ${rest}`);
        return c.setEndpointPorts(id, rest);
      });
      printOne(cmd, next, portsColumns);
    });
}
