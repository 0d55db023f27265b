/**
 * The last gate before kernel commands are written: every value a plan interpolates into an
 * `ip`/`bridge` batch line or an nft script (names, MACs, addresses, namespace paths) must
 * be a plain token. Issue #5: a namespace path with a newline became a second `ip -batch`
 * command, one with a space an extra argument. The controller and the agent validate their
 * input, but the plan is built from whatever the store holds (written by an older version,
 * by hand, by a bug), so it is checked again here. A bad port is refused on its own; a bad
 * network refuses its tenant's namespace, and nothing is run for either.
 */
import { parseIp } from '../base/cidr.js';
import { netnsProblem } from '../model/validate.js';
import { isBridge, isHandoff, isPort, isVxlan } from './names.js';
import type { NetworkPlan, PortPlan, TenantPlan } from './plan.js';

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const IFNAME = /^[a-zA-Z0-9_.-]{1,15}$/;
/** 1 Tbit/s: tc takes 64-bit rates, but nothing on one host goes faster. */
const MAX_BPS = 1e12;
const NS_NAME = /^[a-z0-9][a-z0-9-]{0,200}$/;

const isIp = (v: unknown): boolean => typeof v === 'string' && parseIp(v) !== undefined;
const isMac = (v: unknown): boolean => typeof v === 'string' && MAC.test(v);
const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function isIpCidr(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const [ip, len, extra] = v.split('/');
  return extra === undefined && isIp(ip) && /^\d{1,2}$/.test(len ?? '') && Number(len) <= 32;
}

/** What is wrong with a port's values, or undefined when every one is a plain token. */
export function portProblem(p: PortPlan): string | undefined {
  if (p.handoff !== undefined) {
    if (typeof p.handoff !== 'string' || !isHandoff(p.handoff)) return 'its handoff interface name is not one Tenet makes (tnh + 10 hex digits)';
  } else {
    if (typeof p.netns !== 'string') return 'its netns is not a string';
    const netns = netnsProblem(p.netns);
    if (netns !== undefined || !p.netns.startsWith('/')) return `its netns path is unsafe (${netns ?? 'not absolute'})`;
  }
  if (typeof p.ifname !== 'string' || !IFNAME.test(p.ifname)) return 'its interface name is unsafe';
  if (!isMac(p.mac)) return 'its MAC is malformed';
  if (!isIpCidr(p.ipCidr) || !isIp(p.gateway)) return 'its address or gateway is malformed';
  if (!isInt(p.mtu, 68, 65535)) return 'its MTU is out of range';
  if (!isPort(p.port) || !isBridge(p.bridge)) return 'its port or bridge name is malformed';
  if (p.rate !== undefined && ![p.rate.egressBps, p.rate.ingressBps].every((r) => r === undefined || isInt(r, 1, MAX_BPS))) return 'its rate limit is not a whole number of bit/s';
  return undefined;
}

export function networkProblem(n: NetworkPlan): string | undefined {
  if (!isInt(n.vni, 1, 0xffffff) || !isBridge(n.bridge) || !isVxlan(n.vxlan)) return `network VNI ${String(n.vni).slice(0, 16)} is malformed`;
  if (!isIpCidr(n.gatewayCidr) || !isMac(n.gatewayMac) || !isIp(n.vtep) || !isInt(n.mtu, 68, 65535)) return `network ${n.vni} has a malformed gateway, VTEP or MTU`;
  if (!n.remotes.every((r) => isIp(r.ip) && isMac(r.mac) && isIp(r.vtep)) || !n.floodVteps.every(isIp)) return `network ${n.vni} has a malformed remote endpoint`;
  return undefined;
}

export interface CheckedTenant {
  plan: TenantPlan;
  /** Endpoint id → why its port was left out. */
  badPorts: Map<string, string>;
  /** Why the whole tenant namespace was left alone. */
  problem?: string;
}

/** The tenant's plan without its unsafe ports, or the reason the tenant cannot be touched. */
export function checkTenantPlan(t: TenantPlan): CheckedTenant {
  const badPorts = new Map<string, string>();
  if (!NS_NAME.test(t.ns)) return { plan: t, badPorts, problem: 'its namespace name is unsafe' };
  const problem = t.networks.map(networkProblem).find((p) => p !== undefined);
  if (problem) return { plan: t, badPorts, problem };
  const ports = t.ports.filter((p) => {
    const why = portProblem(p);
    if (why) badPorts.set(p.endpointId, why);
    return !why;
  });
  return { plan: badPorts.size ? { ...t, ports } : t, badPorts };
}
