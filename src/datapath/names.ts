/**
 * Kernel object names. Linux caps interface names at 15 characters, so names are built
 * from the VNI (unique across tenants) or a hash of the endpoint id, behind a "tn" prefix
 * that marks them as Tenet's: the reconciler only ever deletes links that carry it.
 */
import { createHash } from 'node:crypto';

export const bridgeName = (vni: number): string => `tnbr${vni}`;
export const vxlanName = (vni: number): string => `tnvx${vni}`;

/** Host-side veth of an endpoint, in the tenant namespace: "tnv" + 10 hex digits (13 chars). */
export function portName(endpointId: string): string {
  return `tnv${createHash('sha1').update(endpointId).digest('hex').slice(0, 10)}`;
}

export function tenantNs(nsPrefix: string, tenant: string): string {
  return `${nsPrefix}${tenant}`;
}

export const isBridge = (name: string): boolean => /^tnbr\d+$/.test(name);
export const isVxlan = (name: string): boolean => /^tnvx\d+$/.test(name);
export const isPort = (name: string): boolean => /^tnv[0-9a-f]{10}$/.test(name);
export const isOurs = (name: string): boolean => isBridge(name) || isVxlan(name) || isPort(name);

export const NFT_TABLE = 'tenet';
export const VXLAN_PORT = 4789;
