/** Test support: model objects built by hand, as the controller would hand them out. */
import { parseCidr } from '../../base/cidr.js';
import { endpointMac } from '../../model/mac.js';
import type { Endpoint, Host, Network } from '../../model/types.js';
import { handoffIfname } from '../names.js';

const NOW = '2026-11-23T00:00:00.000Z';

export function net(tenant: string, name: string, subnet: string, vni: number, mtu = 0): Network {
  const gateway = subnet.replace(/\.0\/\d+$/, '.1');
  return { id: `${tenant}-${name}`, tenant, name, subnet, gateway, mtu, vni, createdAt: NOW };
}

export function ep(id: string, network: Network, host: string, ip: string, netns: string, ifname = 'eth0'): Endpoint {
  return {
    id,
    tenant: network.tenant,
    network: network.name,
    networkId: network.id,
    host,
    labels: {},
    attachment: { kind: 'netns', netns, netnsId: { dev: 0, ino: 0 }, ifname },
    mac: endpointMac(ip),
    ip,
    prefixLen: parseCidr(network.subnet)!.prefixLen,
    gateway: network.gateway,
    status: 'pending',
    createdAt: NOW,
    updatedAt: NOW,
  };
}

export function host(name: string, vtep: string): Host {
  return { name, vtep, underlayMtu: 1500, underlay: 'default', registeredAt: NOW };
}

/** The same endpoint handed off (ADR 005): its host side named as the agent names it. */
export function handedOff(e: Endpoint, ifname = 'eth0'): Endpoint {
  return { ...e, attachment: { kind: 'handoff', hostIfname: handoffIfname(e.id, ifname), ifname } };
}

/** The same endpoint attached to another namespace path. */
export function withNetns(e: Endpoint, netns: string): Endpoint {
  const a = e.attachment?.kind === 'netns' ? e.attachment : { kind: 'netns' as const, netnsId: { dev: 0, ino: 0 }, ifname: 'eth0' };
  return { ...e, attachment: { ...a, netns } };
}
