/**
 * Kernel object names. Linux caps interface names at 15 characters, so names are built
 * from the VNI (unique across tenants) or a hash of the endpoint id, behind a "tn" prefix
 * that marks them as Tenet's: the reconciler only ever deletes links that carry it.
 */
import { createHash } from 'node:crypto';
import { netnsAttachment, type Endpoint } from '../model/types.js';

export const bridgeName = (vni: number): string => `tnbr${vni}`;
export const vxlanName = (vni: number): string => `tnvx${vni}`;

/**
 * What a port embodies: if any of it changes, the port is a different one. Built from an
 * endpoint and its netns attachment (plan.ts). The namespace identity (dev/ino) is left out
 * on purpose: ports made before ADR 005 keep their names, and a namespace replaced under the
 * same path is the namespace guard's to catch, before a port is planned.
 */
export interface PortIdentity {
  id: string;
  netns: string;
  ifname: string;
  ip: string;
  mac: string;
}

/**
 * Host-side veth of an endpoint, in the tenant namespace: "tnv" + 10 hex digits (13 chars).
 * The hash covers the whole identity, not just the id: an endpoint deleted and re-created
 * with the same id (a CNI retry) in another namespace or with another address gets a new
 * port, and the old one is removed as stale, instead of being mistaken for it.
 */
export function portName(e: PortIdentity): string {
  const identity = [e.id, e.netns, e.ifname, e.ip, e.mac].join('|');
  return `tnv${createHash('sha1').update(identity).digest('hex').slice(0, 10)}`;
}

/** The port of an attached endpoint (netns or handoff); undefined for a detached one. */
export function portOf(e: Endpoint): string | undefined {
  const a = netnsAttachment(e);
  if (a) return portName({ id: e.id, netns: a.netns, ifname: a.ifname, ip: e.ip, mac: e.mac });
  return e.attachment?.kind === 'handoff' ? handoffPort(e.attachment.hostIfname) : undefined;
}

/**
 * The host-side interface of a handoff attachment (ADR 005, "Handoff, realized"): "tnh" + 10
 * hex digits (13 chars) of the port identity hash, with the literal `handoff` where a netns
 * path would be. Unlike portName, address and MAC are left out: the agent names the interface
 * before the controller's create txn has allocated them (the name travels in that txn).
 */
export function handoffIfname(id: string, ifname: string): string {
  return `tnh${portName({ id, netns: 'handoff', ifname, ip: '', mac: '' }).slice(3)}`;
}

/** The tenant side of a handoff pair shares the host side's hash: "tnh<h>" pairs with "tnv<h>". */
export function handoffPort(hostIfname: string): string | undefined {
  return isHandoff(hostIfname) ? `tnv${hostIfname.slice(3)}` : undefined;
}

export function tenantNs(nsPrefix: string, tenant: string): string {
  return `${nsPrefix}${tenant}`;
}

/**
 * The ifb device that shapes what a port's endpoint sends (rates.ts): "tnq" + the port's 10 hex
 * digits, made in the tenant namespace and deleted with the port (it is stale without it).
 */
export const ifbName = (port: string): string => `tnq${port.slice(3)}`;

export const isBridge = (name: string): boolean => /^tnbr\d+$/.test(name);
export const isVxlan = (name: string): boolean => /^tnvx\d+$/.test(name);
export const isPort = (name: string): boolean => /^tnv[0-9a-f]{10}$/.test(name);
/** A handoff's host side, in the agent's own namespace until a runtime moves it (never in a tenant namespace). */
export const isHandoff = (name: string): boolean => /^tnh[0-9a-f]{10}$/.test(name);
export const isIfb = (name: string): boolean => /^tnq[0-9a-f]{10}$/.test(name);
export const isOurs = (name: string): boolean => isBridge(name) || isVxlan(name) || isPort(name) || isIfb(name);

export const NFT_TABLE = 'tenet';
/** After the hash in the ruleset's comment when it carries a policy (nft.ts, observe.ts). */
export const POLICY_MARK = 'policy/bridges';
/** The mark of a Tenet that switched br_netfilter on per namespace, not per bridge (docs/adr/013). */
export const LEGACY_POLICY_MARK = 'policy';
export const VXLAN_PORT = 4789;
