/**
 * Store key layout. Object keys come from the kind registry (kinds.ts). Allocation keys
 * (VNIs, addresses, MACs, endpoint names) are written create-if-absent, so two controllers
 * or two concurrent attaches can never hand out the same value, with no lock. They live
 * under alloc/, which kindOfKey() maps to no kind, so watches never show them to agents.
 */
import { KINDS, ROOT } from './kinds.js';

export { kindOfKey, ROOT } from './kinds.js';

/** An IPv4 address as 8 hex digits: key order is then address order (ipam.ts reads ranges). */
export const addrHex = (ip: number): string => ip.toString(16).padStart(8, '0');

export const keys = {
  tenant: (name: string) => `${KINDS.tenant.prefix}${name}`,
  tenants: () => KINDS.tenant.prefix,
  network: (tenant: string, name: string) => `${KINDS.network.prefix}${tenant}/${name}`,
  networksOf: (tenant: string) => `${KINDS.network.prefix}${tenant}/`,
  networks: () => KINDS.network.prefix,
  endpoint: (id: string) => `${KINDS.endpoint.prefix}${id}`,
  endpoints: () => KINDS.endpoint.prefix,
  host: (name: string) => `${KINDS.host.prefix}${name}`,
  hosts: () => KINDS.host.prefix,
  policy: (tenant: string, name: string) => `${KINDS.policy.prefix}${tenant}/${name}`,
  policiesOf: (tenant: string) => `${KINDS.policy.prefix}${tenant}/`,
  policies: () => KINDS.policy.prefix,
  vni: (vni: number) => `${ROOT}alloc/vni/${vni}`,
  /** An address reservation (ipam.ts): value is a Reservation as JSON. */
  addr: (networkId: string, ip: number) => `${ROOT}alloc/addr/${networkId}/${addrHex(ip)}`,
  addrsOf: (networkId: string) => `${ROOT}alloc/addr/${networkId}/`,
  addrs: () => `${ROOT}alloc/addr/`,
  /** Where the next automatic allocation of a network starts looking (a hint, never compared). */
  addrCursor: (networkId: string) => `${ROOT}alloc/addr-cursor/${networkId}`,
  /** Before ADR 005: keys.ip(networkId, "10.0.0.5") held the endpoint id (migrate.ts). */
  legacyIps: () => `${ROOT}alloc/ip/`,
  /** MAC in use in a network: value is the endpoint id. */
  mac: (networkId: string, mac: string) => `${ROOT}alloc/mac/${networkId}/${mac}`,
  macs: () => `${ROOT}alloc/mac/`,
  /** Endpoint name in a network (lowercased: names are unique case-insensitively). */
  epName: (networkId: string, name: string) => `${ROOT}alloc/ep-name/${networkId}/${name.toLowerCase()}`,
  epNames: () => `${ROOT}alloc/ep-name/`,
};
