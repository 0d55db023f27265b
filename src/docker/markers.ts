/**
 * What a container asks of Tenet, read from its environment or labels (Nuage style), so a
 * `docker run --net=none` container joins a Tenet network with nothing but the docker CLI:
 *   -e TENET_TENANT=admin -e TENET_NETWORK=red [-e TENET_IP=A] [-e TENET_IFNAME=eth0]
 *   --label tenet.tenant=admin --label tenet.network=red [--label tenet.ip=A] [--label tenet.ifname=eth0]
 * Labels win over the environment when both are given. Pure: unit-tested without dockerd.
 */
import type { ContainerInspect } from './engine.js';

export interface AttachIntent {
  tenant: string;
  network: string;
  ip?: string;
  ifname?: string;
}

/** The label an endpoint made for a container carries: the container's short id (docker ps shows it). */
export const CONTAINER_LABEL = 'tenet.docker.container';

/** Docker's short id: 12 hex digits, which fits a label value (at most 63). */
export const shortId = (id: string): string => id.slice(0, 12);

/** The container's name without Docker's leading slash. */
export const containerName = (c: Pick<ContainerInspect, 'Name'>): string => c.Name.replace(/^\//, '');

/** The container's name as an endpoint name, when it follows Tenet's naming rule (Docker allows more). */
export function endpointNameOf(c: Pick<ContainerInspect, 'Name'>): string | undefined {
  const name = containerName(c);
  return /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(name) ? name : undefined;
}

const FIELDS = { tenant: 'TENANT', network: 'NETWORK', ip: 'IP', ifname: 'IFNAME' } as const;

/** The intent a container carries, or undefined when it names no tenant and network. */
export function intentOf(c: ContainerInspect): AttachIntent | undefined {
  const env = envMap(c.Config.Env ?? []);
  const labels = c.Config.Labels ?? {};
  const pick = (field: keyof typeof FIELDS) => labels[`tenet.${field}`] || env[`TENET_${FIELDS[field]}`] || undefined;
  const tenant = pick('tenant');
  const network = pick('network');
  if (!tenant || !network) return undefined;
  const intent: AttachIntent = { tenant, network };
  const ip = pick('ip');
  const ifname = pick('ifname');
  if (ip) intent.ip = ip;
  if (ifname) intent.ifname = ifname;
  return intent;
}

function envMap(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/**
 * The idempotency key of the monitor's attach of a container: the same container (and
 * network) always names the same endpoint, so a retry or a restarted monitor never makes a
 * second one.
 */
export const monitorKey = (containerId: string, intent: AttachIntent): string => `docker-monitor:${containerId}:${intent.tenant}/${intent.network}`;

/** The key of `tenet attach CONTAINER --tenant T --net N`: one endpoint per container and network. */
export const attachKey = (containerId: string, tenant: string, network: string): string => `docker-attach:${containerId}:${tenant}/${network}`;
