/**
 * Finds the underlay: the address VXLAN packets leave from (the VTEP) and the MTU of the
 * link that carries them. Given --vtep-ip, the link is the one holding that address;
 * otherwise the default route's link; otherwise the first link with a global IPv4 address.
 * A host with none of these (a laptop offline) can still run a single-host Tenet: it uses
 * 127.0.0.1 and assumes 1500, and says so in the log.
 */
import type { Logger } from '../base/logger.js';
import type { CommandRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';

export interface Underlay {
  /** Name of the underlay network (Host.underlay). */
  name: string;
  vtep: string;
  dev?: string;
  mtu: number;
}

interface RawAddrLink {
  ifname: string;
  mtu: number;
  flags?: string[];
  addr_info?: { family: string; local: string; scope: string }[];
}

export async function detectUnderlay(runner: CommandRunner, logger: Logger, vtepIp?: string, dev?: string): Promise<Omit<Underlay, 'name'>> {
  const links = JSON.parse((await runner.run(['ip', '-j', 'addr', 'show'])).stdout || '[]') as RawAddrLink[];
  const v4 = (l: RawAddrLink) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope === 'global');
  if (vtepIp) {
    const link = links.find((l) => v4(l).some((a) => a.local === vtepIp));
    if (!link) throw new TenetError('BAD_REQUEST', `no interface on this host has the VTEP address ${vtepIp}`, 'give an address of this host with --vtep-ip');
    return { vtep: vtepIp, dev: link.ifname, mtu: link.mtu };
  }
  const wantedDev = dev ?? (await defaultRouteDev(runner));
  const link = links.find((l) => l.ifname === wantedDev && v4(l).length > 0) ?? links.find((l) => v4(l).length > 0 && l.ifname !== 'lo');
  if (link) return { vtep: v4(link)[0]!.local, dev: link.ifname, mtu: link.mtu };
  logger.warn({}, 'no underlay address found: single-host mode on 127.0.0.1 with MTU 1500');
  return { vtep: '127.0.0.1', mtu: 1500 };
}

async function defaultRouteDev(runner: CommandRunner): Promise<string | undefined> {
  const routes = JSON.parse((await runner.run(['ip', '-j', 'route', 'show', 'default'], { allowFail: true })).stdout || '[]') as { dev?: string }[];
  return routes[0]?.dev;
}
