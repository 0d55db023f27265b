/**
 * The CNI protocol's shapes as Tenet speaks them (CNI spec 0.4.0, 1.0.0, 1.1.0; research:
 * ../shared/research/protocols.md §4). The runtime executes `tenet` (a C forwarder or a shell script over curl,
 * ADR 018), which hands the agent the CNI environment and the stdin config unchanged; all
 * parsing and validation happen in the agent, in this folder.
 */
import type { PublishedPort } from '../model/types.js';

/** What VERSION lists. 0.4.0 is what podman 4.3 writes; 1.1.0 adds STATUS and GC. */
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The plugin entry of a conflist, with what the runtime injected (§4.3). */
export interface CniConfig {
  cniVersion: CniVersion;
  /** The network's name in the runtime (the conflist's `name`). */
  name: string;
  tenant: string;
  /** The Tenet network; defaults to `name`. */
  network: string;
  runtimeConfig: RuntimeConfig;
  prevResult?: CniResult;
  /** GC only (1.1.0): the attachments the runtime still has. */
  validAttachments?: { containerId: string; ifname: string }[];
}

export interface RuntimeConfig {
  /** `ips` capability: the first IPv4 address (Tenet gives an endpoint one address). */
  ip?: string;
  /** `mac` capability. */
  mac?: string;
  /** `portMappings` capability, as the endpoint's published ports (ADR 016). */
  ports?: PublishedPort[];
}

/** The CNI_* environment, as the executable forwards it. */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  args: CniArgs;
}

export interface CniArgs {
  ip?: string;
  mac?: string;
  podName?: string;
  podNamespace?: string;
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** 0.4.0 only. */
  version?: '4' | '6';
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** The error document (§4.6), printed on stdout with a non-zero exit. */
export interface CniError {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}
