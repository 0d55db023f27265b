/**
 * One CNI call, start to end, over the agent's operations (CniOps): the env and the config
 * are read and checked first (nothing changes on bad input), then ADD attaches the netns and
 * publishes its portMappings, DEL removes the endpoint (and succeeds when it, its namespace
 * or its interface are gone already: gotcha 18), CHECK compares the kernel with the endpoint, STATUS says whether an
 * ADD could work now, GC removes the CNI endpoints of the network the runtime no longer has.
 * The agent serves it (agent/cni-server.ts); this file knows nothing of sockets or kernels.
 */
import type { AttachRequest } from '../api/types.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint, PublishedPort } from '../model/types.js';
import { parseConfig } from './config.js';
import { parseEnv } from './env.js';
import { cniLabels, cniName, CONTAINER_LABEL, endpointId, IFNAME_LABEL, isCniEndpoint } from './identity.js';
import { addResult, cniError, versionResult } from './result.js';
import type { CniConfig, CniEnv, CniError, CniResult } from './types.js';

export interface CniOps {
  attach(req: AttachRequest): Promise<Endpoint>;
  /** This host's endpoint of that id, if any. */
  find(id: string): Promise<Endpoint | undefined>;
  /**
   * Deletes the endpoint and releases its address; an endpoint already gone is fine.
   * `reclaimed`: why the plugin releases it on its own (GC), recorded by the controller
   * with the delete (`tenet ep ls --stale`); a runtime's DEL is no reclaim.
   */
  remove(id: string, reclaimed?: string): Promise<void>;
  /** Throws CNI_CHECK_FAILED when the kernel differs from the endpoint. */
  check(ep: Endpoint, env: CniEnv): Promise<void>;
  /** Throws when an ADD to the network could not succeed now. */
  status(config: CniConfig): Promise<void>;
  localEndpoints(): Endpoint[];
  /** Sets the endpoint's published ports and realizes them (Agent.publishPorts, ADR 016). */
  publish(id: string, ports: PublishedPort[]): Promise<void>;
}

export type CniAnswer = { ok: true; result?: unknown } | { ok: false; error: CniError };

/** `vars`: the CNI_* variables; `stdin`: the config text. Never throws: errors are answers. */
export async function handleCni(vars: Record<string, string | undefined>, stdin: string, ops: CniOps): Promise<CniAnswer> {
  let version = '1.0.0';
  try {
    const env = parseEnv(vars);
    const config = parseConfig(stdin, env.command);
    version = config.cniVersion;
    return { ok: true, result: await run(env, config, ops) };
  } catch (err) {
    return { ok: false, error: cniError(err, version) };
  }
}

async function run(env: CniEnv, config: CniConfig, ops: CniOps): Promise<unknown> {
  switch (env.command) {
    case 'VERSION':
      return versionResult(config.cniVersion);
    case 'ADD':
      return add(env, config, ops);
    case 'DEL':
      return ops.remove(endpointId(env.containerId, env.ifname));
    case 'CHECK':
      return check(env, config, ops);
    case 'STATUS':
      return ops.status(config);
    case 'GC':
      return gc(config, ops);
  }
}

async function add(env: CniEnv, config: CniConfig, ops: CniOps): Promise<CniResult> {
  const id = endpointId(env.containerId, env.ifname);
  const req: AttachRequest = {
    tenant: config.tenant,
    network: config.network,
    netns: env.netns,
    ifname: env.ifname,
    ip: env.args.ip ?? config.runtimeConfig.ip,
    mac: env.args.mac ?? config.runtimeConfig.mac,
    id,
    name: cniName(env),
    labels: cniLabels(env),
  };
  let ep: Endpoint;
  try {
    ep = await ops.attach(req);
  } catch (err) {
    // What a crash between ADD and DEL leaves (an endpoint of the same pair bound to an older
    // namespace) is replaced: ADD of a pair means "make it so", and the old one is dead.
    if (!(err instanceof TenetError) || err.code !== 'ENDPOINT_EXISTS') throw err;
    await ops.remove(id);
    ep = await ops.attach(req);
  }
  const ports = config.runtimeConfig.ports ?? [];
  if (ports.length) await publishOrUndo(ops, id, ports);
  return addResult(config, env, ep);
}

/**
 * The portMappings capability: the endpoint's published ports, the mechanism Docker's -p uses.
 * A refusal (HOST_PORT_IN_USE) fails the ADD and removes the endpoint it made, so a failed
 * ADD leaves nothing behind; DEL needs nothing of its own, the ports go with the endpoint.
 */
async function publishOrUndo(ops: CniOps, id: string, ports: PublishedPort[]): Promise<void> {
  try {
    await ops.publish(id, ports);
  } catch (err) {
    await ops.remove(id).catch(() => undefined); // the refusal is the error worth reporting
    throw err;
  }
}

async function check(env: CniEnv, config: CniConfig, ops: CniOps): Promise<void> {
  const ep = await ops.find(endpointId(env.containerId, env.ifname));
  const fail = (why: string) => new TenetError('CNI_CHECK_FAILED', `container ${env.containerId.slice(0, 12)} ${env.ifname}: ${why}`);
  if (!ep) throw fail('Tenet has no endpoint for it on this host');
  if (ep.tenant !== config.tenant || ep.network !== config.network) throw fail(`its endpoint is on network ${ep.network} of tenant ${ep.tenant}, not ${config.network} of ${config.tenant}`);
  const address = `${ep.ip}/${ep.prefixLen}`;
  if (config.prevResult?.ips && !config.prevResult.ips.some((ip) => ip.address === address)) throw fail(`prevResult does not list its address ${address}`);
  await ops.check(ep, env);
}

async function gc(config: CniConfig, ops: CniOps): Promise<void> {
  const valid = new Set((config.validAttachments ?? []).map((a) => endpointId(a.containerId, a.ifname)));
  const stale = ops.localEndpoints().filter((ep) => isCniEndpoint(ep) && ep.tenant === config.tenant && ep.network === config.network && !valid.has(ep.id));
  for (const ep of stale) await ops.remove(ep.id, gcReason(config, ep));
}

/** The line `tenet ep ls --stale` shows for an endpoint GC released. */
export function gcReason(config: CniConfig, ep: Endpoint): string {
  const container = ep.labels[CONTAINER_LABEL] ?? '?';
  const ifname = ep.labels[IFNAME_LABEL] ?? '?';
  return `CNI GC: the runtime no longer lists container ${container} ${ifname} among the ${config.validAttachments?.length ?? 0} valid attachments of network ${config.network} of tenant ${config.tenant}`;
}
