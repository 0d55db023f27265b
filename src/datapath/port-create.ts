/**
 * A port in one process (ADR 025 and its addendum). The veth pair is made with its tenant side
 * born in the tenant namespace, on its bridge and up, by a single `ip link add` run where the
 * other side must live: inside the workload namespace for a netns port (its address, MTU and
 * route follow in the same `ip -batch`), in the agent's namespace for a handoff (Docker moves
 * that side itself). Before, a port took two processes in a row (the pair from the tenant
 * namespace, then the workload's configuration; a handoff: the pair from the agent's side,
 * then its tenant side put on the bridge).
 *
 * Why it is safe: the kernel creates the device in its destination namespace (`netns`) and
 * applies IFLA_MASTER there, by ifindex. `"if N"` (with the space, a name no device can have)
 * makes iproute2 pass index N without resolving a name in the namespace it runs in (for a
 * netns port the workload's, which the user controls). The index is the bridge's in the tenant
 * namespace (bridge-index.ts). `link add` is atomic: refused, it leaves no device on either
 * side; a later line that fails leaves a pair that KernelOps.createPort deletes (its tenant
 * side takes the other with it). Checked against Linux 6.18 with iproute2 6.1 (fake-vs-real).
 */
import { NETNS_DIR } from './observe.js';
import type { PortPlan } from './plan.js';

/** `link add PORT netns /run/netns/NS master "if N" mtu M up type veth peer name PEER address MAC mtu M`. */
export function vethIntoTenant(ns: string, port: PortPlan, peer: string, bridgeIndex: number): string {
  if (!Number.isInteger(bridgeIndex) || bridgeIndex <= 0) throw new Error(`bad bridge ifindex ${bridgeIndex}`);
  const tenantSide = `link add ${port.port} netns ${NETNS_DIR}/${ns} master "if ${bridgeIndex}" mtu ${port.mtu} up`;
  return `${tenantSide} type veth peer name ${peer} address ${port.mac} mtu ${port.mtu}`;
}

/** The workload end, configured in the same process right after the pair is made. */
export function workloadSetup(port: PortPlan): string[] {
  return [
    `link set ${port.ifname} up`,
    `addr add ${port.ipCidr} dev ${port.ifname}`,
    ...(port.defaultRoute ? [`route replace default via ${port.gateway} dev ${port.ifname}`] : []),
  ];
}
