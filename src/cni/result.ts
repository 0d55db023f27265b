/**
 * What the plugin prints (protocols.md §4.5, §4.6): the ADD result in the config's own
 * cniVersion, extending a previous plugin's result when chained, and the error document.
 *
 * podman's strictness shapes the result (§4.8, gotcha 21): the sandbox interface always
 * carries a MAC and every ip names its interface by index, or podman fails the setup or
 * hides the address. 0.4.0 results also carry `version: "4"` on each ip (gone in 1.0.0).
 * The `dns` field hands the workload Tenet's DNS server and search domains (issue 10).
 */
import { asTenetError, CATALOG } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import type { CniConfig, CniDns, CniEnv, CniError, CniIp, CniResult } from './types.js';
import { SUPPORTED_VERSIONS } from './types.js';

/** The interface whose default route Tenet sets (datapath/workload.ts): only eth0 gets one. */
const DEFAULT_ROUTE_IFNAME = 'eth0';

export function addResult(config: CniConfig, env: CniEnv, ep: Endpoint): CniResult {
  const prev = config.prevResult;
  const interfaces = [...(prev?.interfaces ?? [])];
  const index = interfaces.length;
  interfaces.push({ name: env.ifname, mac: ep.mac, ...(ep.mtu ? { mtu: ep.mtu } : {}), sandbox: env.netns });
  const ips: CniIp[] = [...(prev?.ips ?? []), { address: `${ep.ip}/${ep.prefixLen}`, gateway: ep.gateway, interface: index }];
  const routes = [...(prev?.routes ?? [])];
  if (env.ifname === DEFAULT_ROUTE_IFNAME) routes.push({ dst: '0.0.0.0/0', gw: ep.gateway });
  const result: CniResult = { cniVersion: config.cniVersion, interfaces, ips: ips.map((ip) => ipIn(config.cniVersion, ip)), routes };
  const dns = env.ifname === DEFAULT_ROUTE_IFNAME ? tenetDns(ep, prev?.dns) : prev?.dns;
  if (dns) result.dns = dns;
  return result;
}

/**
 * The network's DNS server (the agent's, on the gateway: issue 10) first, and the search
 * domains `<network>.<tenant>` and `<tenant>`, ahead of what a previous plugin set. Only for
 * the interface with the default route: a runtime writes one resolv.conf, and a secondary
 * Tenet interface must not take over a container's resolution.
 */
function tenetDns(ep: Endpoint, prev: CniDns | undefined): CniDns {
  const ours = [`${ep.network}.${ep.tenant}`.toLowerCase(), ep.tenant.toLowerCase()];
  const nameservers = [ep.gateway, ...(prev?.nameservers ?? []).filter((n) => n !== ep.gateway)];
  const search = [...ours, ...(prev?.search ?? []).filter((d) => !ours.includes(d))];
  return { ...prev, nameservers, search };
}

/** 0.4.0 wants `version` on every ip; 1.0.0 and later have no such field. */
function ipIn(version: string, ip: CniIp): CniIp {
  const { version: _drop, ...rest } = ip;
  return version === '0.4.0' ? { ...rest, version: ip.address.includes(':') ? '6' : '4' } : rest;
}

/** The spec's code where one fits (the catalog says which), Tenet's from 100; a bug is 999 with no details. */
export function cniError(err: unknown, cniVersion: string): CniError {
  const e = asTenetError(err);
  return { cniVersion, code: CATALOG[e.code].cni, msg: e.message, details: `tenet ${e.code}` };
}

export function versionResult(cniVersion: string): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
