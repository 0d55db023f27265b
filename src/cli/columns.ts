/** How each API object reads in a table: the columns a network engineer scans first. */
import { formatAge, type Cell, type Column } from '../base/table.js';
import type { HostView, ReclaimedEndpoint } from '../api/types.js';
import { mappingText } from '../model/ports.js';
import type { Endpoint, Network, Tenant } from '../model/types.js';

export const tenantColumns: Column<Tenant>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'ID', value: (t) => t.id },
  { header: 'CREATED', value: (t) => formatAge(t.createdAt) },
];

/** MTU 0 means "underlay MTU - 50 on each host"; say so rather than print a zero. */
export const mtuText = (mtu: number | undefined): Cell => (mtu ? mtu : 'auto');

export const networkColumns: Column<Network>[] = [
  { header: 'TENANT', value: (n) => n.tenant },
  { header: 'NAME', value: (n) => n.name },
  { header: 'SUBNET', value: (n) => n.subnet },
  { header: 'GATEWAY', value: (n) => n.gateway },
  { header: 'VNI', value: (n) => n.vni },
  { header: 'MTU', value: (n) => mtuText(n.mtu) },
  { header: 'POLICIES', value: (n) => n.policies?.join(',') || '-' },
];

export const ipWithPrefix = (e: Endpoint): string => `${e.ip}/${e.prefixLen}`;

/** The ATTACHED column: the namespace path, "handoff", or "-" while detached. */
export const attachedText = (e: Endpoint): string => (e.attachment?.kind === 'netns' ? e.attachment.netns : e.attachment ? 'handoff' : '-');

export const labelsText = (e: Endpoint): string =>
  Object.entries(e.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

/** What `ep attach` and `ep create` print: enough to use the endpoint straight away. */
export const attachedColumns: Column<Endpoint>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'NAME', value: (e) => e.name ?? '-' },
  { header: 'IP', value: ipWithPrefix },
  { header: 'MAC', value: (e) => e.mac },
  { header: 'IFNAME', value: (e) => e.attachment?.ifname ?? '-' },
  { header: 'STATUS', value: (e) => e.status },
];

export const endpointColumns: Column<Endpoint>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'NAME', value: (e) => e.name ?? '-' },
  { header: 'TENANT', value: (e) => e.tenant },
  { header: 'NETWORK', value: (e) => e.network },
  { header: 'HOST', value: (e) => e.host ?? '-' },
  { header: 'IP', value: ipWithPrefix },
  { header: 'MAC', value: (e) => e.mac },
  { header: 'ATTACHED', value: attachedText },
  { header: 'STATUS', value: (e) => e.status },
  { header: 'PORTS', value: (e) => (e.ports ?? []).map(mappingText).join(',') || '-' },
  { header: 'LABELS', value: labelsText },
];

/**
 * A host is up while its agent keeps its lease alive (the controller says which). SINCE is
 * when an up host's lease was granted; a down host shows '-' there: the controller writes
 * nothing when a lease expires, so it does not know when the host went down.
 */
export const hostColumns: Column<HostView>[] = [
  { header: 'NAME', value: (h) => h.name },
  { header: 'VTEP', value: (h) => h.vtep },
  { header: 'UNDERLAY', value: (h) => h.underlay },
  { header: 'STATE', value: (h) => h.state },
  { header: 'SINCE', value: (h) => (h.state === 'up' ? formatAge(h.since) : '-') },
  { header: 'REALIZED', value: (h) => h.realizedRevision },
  { header: 'MTU', value: (h) => h.underlayMtu },
];

/** Who made a reclaimed endpoint: its labels say (the CNI plugin's, the Docker monitor's), else `tenet ep attach`. */
function ownerText(r: ReclaimedEndpoint): string {
  const cni = r.labels['tenet.cni.container'];
  const docker = r.labels['tenet.docker.container'];
  return cni ? `cni ${cni}` : docker ? `docker ${docker}` : 'attach';
}

/** `tenet ep ls --stale`: what agents reclaimed, newest first, and why. */
export const reclaimedColumns: Column<ReclaimedEndpoint>[] = [
  { header: 'RECLAIMED', value: (r) => formatAge(r.reclaimedAt) },
  { header: 'ID', value: (r) => r.endpoint },
  { header: 'NAME', value: (r) => r.name ?? '-' },
  { header: 'TENANT', value: (r) => r.tenant },
  { header: 'NETWORK', value: (r) => r.network },
  { header: 'HOST', value: (r) => r.host ?? '-' },
  { header: 'IP', value: (r) => r.ip },
  { header: 'OWNER', value: ownerText },
  { header: 'ATTACHED', value: (r) => (r.attachment?.kind === 'netns' ? r.attachment.netns : r.attachment ? 'handoff' : '-') },
  { header: 'WHY', value: (r) => r.why },
];
