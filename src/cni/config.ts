/**
 * The network config a runtime writes to the plugin's stdin (protocols.md §4.3): one entry of
 * the conflist with `cniVersion`, `name`, `runtimeConfig` (only the capabilities the entry
 * declared) and, when chained or on DEL/CHECK, `prevResult` injected. Read once, here; every
 * field Tenet uses is checked before anything changes, and a wrong one is named in the error.
 * Fields Tenet does not use (`dns`, `ipam`, `capabilities`, …) pass through unread, as the spec
 * asks of plugins.
 */
import { parseIp } from '../base/cidr.js';
import { TenetError } from '../model/errors.js';
import { validatePorts } from '../model/ports.js';
import type { PublishedPort } from '../model/types.js';
import { validateMac, validateName } from '../model/validate.js';
import { shown } from '../model/validate-endpoint.js';
import { SUPPORTED_VERSIONS, type CniCommand, type CniConfig, type CniResult, type CniVersion, type RuntimeConfig } from './types.js';

/** A conflist's `name` (libcni's rule; podman skips files whose name breaks it). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const PLUGIN_TYPE = 'tenet';

type Json = Record<string, unknown>;

export function parseConfig(text: string, command: CniCommand): CniConfig {
  const raw = parseObject(text);
  const cniVersion = version(raw.cniVersion);
  if (raw.type !== PLUGIN_TYPE) throw invalid(`"type" is ${shown(raw.type)}, not "${PLUGIN_TYPE}"`);
  const name = typeof raw.name === 'string' && NETWORK_NAME.test(raw.name) ? raw.name : undefined;
  if (!name) throw invalid(`"name" ${shown(raw.name)} is not a network name`, 'use letters, digits, "_", "." or "-", starting with a letter or digit');
  const config: CniConfig = {
    cniVersion,
    name,
    tenant: field(() => validateName('tenant', raw.tenant), 'tenant'),
    network: field(() => validateName('network', raw.network ?? name), 'network'),
    runtimeConfig: runtimeConfig(raw.runtimeConfig),
  };
  if (raw.prevResult !== undefined && raw.prevResult !== null) config.prevResult = prevResult(raw.prevResult, cniVersion);
  if (command === 'GC') config.validAttachments = validAttachments(raw['cni.dev/valid-attachments']);
  if ((command === 'STATUS' || command === 'GC') && cniVersion !== '1.1.0') {
    throw new TenetError('CNI_VERSION_UNSUPPORTED', `${command} needs cniVersion 1.1.0, the config says ${cniVersion}`, 'write "cniVersion": "1.1.0" in the conflist');
  }
  return config;
}

function parseObject(text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`the config on stdin is not JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) throw invalid('the config on stdin is not a JSON object');
  return value;
}

function version(v: unknown): CniVersion {
  if (typeof v !== 'string' || !v) throw invalid('"cniVersion" is missing', `give one of ${SUPPORTED_VERSIONS.join(', ')}`);
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new TenetError('CNI_VERSION_UNSUPPORTED', `cniVersion ${shown(v)} is not supported by the tenet plugin`, `use one of ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return v as CniVersion;
}

/** The `ips`, `mac` and `portMappings` capabilities, each checked whole before anything changes. */
function runtimeConfig(v: unknown): RuntimeConfig {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid('"runtimeConfig" is not an object');
  const out: RuntimeConfig = {};
  if (v.ips !== undefined && v.ips !== null) out.ip = onlyIp(v.ips);
  if (v.mac !== undefined && v.mac !== null && v.mac !== '') out.mac = field(() => validateMac(v.mac), 'runtimeConfig.mac');
  if (v.portMappings !== undefined && v.portMappings !== null) out.ports = portMappings(v.portMappings);
  return out;
}

/** Tenet gives an endpoint one IPv4 address: `ips` may name it (with or without a prefix). */
function onlyIp(ips: unknown): string | undefined {
  if (!Array.isArray(ips) || ips.some((a) => typeof a !== 'string')) throw invalid('"runtimeConfig.ips" is not a list of addresses');
  if (ips.length > 1) throw invalid(`"runtimeConfig.ips" asks for ${ips.length} addresses`, 'a Tenet endpoint has one IPv4 address: give one');
  const text = ips[0] as string | undefined;
  if (text === undefined) return undefined;
  const [bare, prefix, extra] = text.split('/');
  const prefixOk = prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32);
  if (parseIp(bare!) === undefined || !prefixOk || extra !== undefined) throw invalid(`"runtimeConfig.ips" holds ${shown(text)}, not an IPv4 address`);
  return bare;
}

/**
 * CNI's portMappings as the endpoint's published ports (ADR 016): containerPort is the
 * endpoint's port; hostIP "" or 0.0.0.0 means every address of the host, an IPv4 address only
 * that one, and anything else (an IPv6 address: Tenet networks are IPv4) is refused rather
 * than published on addresses the user did not ask for. The model's rules then apply (no host
 * port twice, at most 32) with their own code, INVALID_PORT.
 */
function portMappings(v: unknown): PublishedPort[] {
  if (!Array.isArray(v)) throw invalid('"runtimeConfig.portMappings" is not a list');
  const ports = v.map((m, i) => {
    const ok = isObject(m) && isPort(m.hostPort) && isPort(m.containerPort) && (m.protocol === undefined || m.protocol === '' || m.protocol === 'tcp' || m.protocol === 'udp');
    if (!ok) throw invalid(`"runtimeConfig.portMappings[${i}]" is not {hostPort, containerPort, protocol: tcp|udp}`, 'ports are 1-65535; tcp or udp');
    const hostIp = m.hostIP === undefined || m.hostIP === null || m.hostIP === '' || m.hostIP === '0.0.0.0' ? undefined : m.hostIP;
    if (hostIp !== undefined && (typeof hostIp !== 'string' || parseIp(hostIp) === undefined)) {
      throw invalid(`"runtimeConfig.portMappings[${i}].hostIP" is ${shown(hostIp)}, not an IPv4 address`, 'give an IPv4 address of the host, or none for all of them (Tenet networks are IPv4 only)');
    }
    const proto = (m.protocol || 'tcp') as 'tcp' | 'udp';
    return { hostPort: m.hostPort as number, port: m.containerPort as number, proto, ...(hostIp ? { hostIp } : {}) };
  });
  try {
    return validatePorts(ports);
  } catch (err) {
    // Keeps the model's code (INVALID_PORT: CNI code 7), naming where the mapping came from.
    if (err instanceof TenetError) throw new TenetError(err.code, `"runtimeConfig.portMappings": ${err.message}`);
    throw err;
  }
}

const isPort = (p: unknown): boolean => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

/** Checked for shape only: Tenet extends it (ADD) or compares its own endpoint with it (CHECK). */
function prevResult(v: unknown, cniVersion: string): CniResult {
  if (!isObject(v)) throw invalid('"prevResult" is not an object');
  const list = (key: string) => {
    const x = v[key];
    if (x !== undefined && x !== null && (!Array.isArray(x) || x.some((e) => !isObject(e)))) throw invalid(`"prevResult.${key}" is not a list of objects`);
    return (x ?? undefined) as Json[] | undefined;
  };
  const interfaces = list('interfaces');
  const ips = list('ips');
  const routes = list('routes');
  if (ips?.some((ip) => typeof ip.address !== 'string')) throw invalid('an entry of "prevResult.ips" has no address');
  if (interfaces?.some((i) => typeof i.name !== 'string')) throw invalid('an entry of "prevResult.interfaces" has no name');
  if (routes?.some((r) => typeof r.dst !== 'string')) throw invalid('an entry of "prevResult.routes" has no dst');
  const out = { ...v, cniVersion: typeof v.cniVersion === 'string' ? v.cniVersion : cniVersion } as CniResult;
  return out;
}

function validAttachments(v: unknown): { containerId: string; ifname: string }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('"cni.dev/valid-attachments" is not a list');
  return v.map((a, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') throw invalid(`"cni.dev/valid-attachments[${i}]" is not {containerID, ifname}`);
    return { containerId: a.containerID, ifname: a.ifname };
  });
}

/** A model validation error, re-coded as a config error that names the field. */
function field<T>(read: () => T, name: string): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof TenetError) throw invalid(`"${name}": ${err.message}`);
    throw err;
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (message: string, fix?: string) => new TenetError('CNI_INVALID_CONFIG', message, fix);
