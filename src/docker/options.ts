/**
 * Docker's words for a network, in Tenet's terms: `docker network create` options (`-o k=v`
 * arrive in `com.docker.network.generic`), and the docker name of a Tenet network: NAME for
 * the default tenant, NAME/TENANT for the others (as Contiv did), so `docker run
 * --net=contiv-net/blue` means tenant blue's network contiv-net.
 */
import { TenetError } from '../model/errors.js';
import { validateMtu, validateVni } from '../model/validate.js';

export const DRIVER_NAME = 'tenet';
export const DEFAULT_DOCKER_TENANT = 'default';

/**
 * The `-o` keys Tenet reads; any other is refused, so a typo is never silently ignored. The
 * bridge driver's MTU key is taken too, so a command written for it works unchanged.
 */
const KNOWN = new Set(['tenant', 'network', 'mtu', 'vni', 'com.docker.network.mtu', 'com.docker.network.driver.mtu']);

export interface NetworkOptions {
  tenant?: string;
  network?: string;
  mtu?: number;
  vni?: number;
  internal: boolean;
}

export function parseNetworkOptions(options: unknown): NetworkOptions {
  const all = (options && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const generic = (all['com.docker.network.generic'] ?? {}) as Record<string, unknown>;
  if (all['com.docker.network.enable_ipv6'] === true) refuse('Tenet networks are IPv4 only', 'leave out --ipv6');
  const out: NetworkOptions = { internal: all['com.docker.network.internal'] === true };
  for (const [key, raw] of Object.entries(generic ?? {})) {
    if (!KNOWN.has(key)) refuse(`unknown option -o ${key}`, 'Tenet takes -o tenant=T, -o network=N, -o mtu=N and -o vni=N');
    const value = String(raw);
    if (key === 'tenant') out.tenant = value;
    else if (key === 'network') out.network = value;
    // Checked here, before dockerd records the network: the Tenet network is made later (network-driver.ts).
    else if (key === 'vni') out.vni = validateVni(whole(key, value));
    else out.mtu = validateMtu(whole(key, value)) || undefined;
  }
  return out;
}

/** The docker name of a Tenet network. */
export function dockerName(tenant: string, network: string, defaultTenant: string): string {
  return tenant === defaultTenant ? network : `${network}/${tenant}`;
}

/** A docker name back to tenant and network; `-o tenant=` wins over the default tenant. */
export function fromDockerName(name: string, tenantOption: string | undefined, defaultTenant: string): { tenant: string; network: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { tenant: tenantOption ?? defaultTenant, network: name };
  const tenant = name.slice(slash + 1);
  if (tenantOption !== undefined && tenantOption !== tenant) {
    refuse(`the name ${name} says tenant ${tenant} but -o tenant=${tenantOption}`, 'give the tenant once: NAME/TENANT or -o tenant=TENANT');
  }
  return { tenant, network: name.slice(0, slash) };
}

function whole(key: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) refuse(`-o ${key}=${value} is not a whole number`, `give -o ${key}=N`);
  return Number(value);
}

export function refuse(what: string, fix: string): never {
  throw new TenetError('DOCKER_UNSUPPORTED', what, fix);
}
