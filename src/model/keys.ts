/**
 * Store key layout. Allocation keys (VNIs, addresses) are written create-if-absent, so two
 * controllers or two concurrent attaches can never hand out the same value, with no lock.
 */
import type { ObjectKind } from './types.js';

export const ROOT = '/tenet/';

export const keys = {
  tenant: (name: string) => `${ROOT}tenants/${name}`,
  tenants: () => `${ROOT}tenants/`,
  network: (tenant: string, name: string) => `${ROOT}networks/${tenant}/${name}`,
  networksOf: (tenant: string) => `${ROOT}networks/${tenant}/`,
  networks: () => `${ROOT}networks/`,
  endpoint: (id: string) => `${ROOT}endpoints/${id}`,
  endpoints: () => `${ROOT}endpoints/`,
  host: (name: string) => `${ROOT}hosts/${name}`,
  hosts: () => `${ROOT}hosts/`,
  vni: (vni: number) => `${ROOT}alloc/vni/${vni}`,
  ip: (networkId: string, ip: string) => `${ROOT}alloc/ip/${networkId}/${ip}`,
  ipsOf: (networkId: string) => `${ROOT}alloc/ip/${networkId}/`,
};

const KIND_BY_SEGMENT: Record<string, ObjectKind> = {
  tenants: 'tenant',
  networks: 'network',
  endpoints: 'endpoint',
  hosts: 'host',
};

/** The object kind a key holds, or undefined for allocation and other internal keys. */
export function kindOfKey(key: string): ObjectKind | undefined {
  if (!key.startsWith(ROOT)) return undefined;
  return KIND_BY_SEGMENT[key.slice(ROOT.length).split('/')[0] ?? ''];
}
