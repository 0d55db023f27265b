/**
 * Attach and detach: the synchronous path the CLI, the CNI plugin and the Docker driver use.
 * Attach validates locally first (the namespace must exist here, and its identity is
 * recorded), asks the controller for the endpoint (IPAM happens there, atomically, in the
 * same txn as the attachment when the endpoint is new), realizes it in the kernel, and
 * answers only when the interface is up. If the kernel refuses, the change is undone: the
 * caller sees one clear error and nothing is left half-made.
 *
 * Detach keeps the endpoint (name, labels, MAC, address) and removes only its port; remove
 * deletes the endpoint and releases what it holds.
 */
import { stat } from 'node:fs/promises';
import type { AttachExistingRequest, AttachRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint, NetnsAttachment, NetnsId } from '../model/types.js';
import { validateIfname, validateMac, validateName } from '../model/validate.js';
import { shown, validateEndpointName, validateLabels, validateNetnsPath } from '../model/validate-endpoint.js';
import type { SetResult } from '../datapath/datapath.js';
import { tenantNs } from '../datapath/names.js';
import type { Agent } from './agent.js';

/** The one place an attach body is read (a schema can replace it). */
function parseAttach(req: AttachRequest) {
  return {
    tenant: validateName('tenant', req.tenant),
    network: validateName('network', req.network),
    ifname: validateIfname(req.ifname),
    mac: validateMac(req.mac),
    ip: req.ip === undefined || req.ip === null ? undefined : typeof req.ip === 'string' ? req.ip : String(req.ip),
    id: req.id,
    name: validateEndpointName(req.name),
    labels: validateLabels(req.labels),
  };
}

/** Creates an endpoint on this host, attached when a namespace is given (one controller txn). */
export async function attach(agent: Agent, req: AttachRequest, logger: Logger): Promise<Endpoint> {
  const p = parseAttach(req);
  const attachment = hasNamespace(req) ? await bindNetns(req, p.ifname) : undefined;
  const { tenant, network } = p;
  const created = await agent.opts.controller.createEndpoint(tenant, network, { host: agent.host, ip: p.ip, mac: p.mac, id: p.id, name: p.name, labels: p.labels, attachment });
  if (!attachment) {
    logger.info({ tenant, network, endpoint: created.id, ip: created.ip }, 'endpoint created detached');
    return created;
  }
  agent.cache.putLocalEndpoint(created);
  const failure = portFailure(agent, created, await agent.reconcileTenants(new Set([tenant])));
  if (failure) {
    await rollback(agent, created, logger);
    throw failure;
  }
  logger.info({ tenant, network, endpoint: created.id, ip: created.ip, netns: attachment.netns }, 'endpoint attached');
  return agent.cache.endpoints.get(created.id) ?? created;
}

/** Attaches an existing, detached endpoint to a namespace of this host. */
export async function attachExisting(agent: Agent, id: string, req: AttachExistingRequest, logger: Logger): Promise<Endpoint> {
  if (!hasNamespace(req)) throw new TenetError('BAD_REQUEST', 'say which namespace to attach', 'give exactly one of --netns PATH or --pid PID');
  const attachment = await bindNetns(req, validateIfname(req.ifname));
  const ep = await agent.opts.controller.attachEndpoint(id, { host: agent.host, attachment });
  agent.cache.putLocalEndpoint(ep);
  const failure = portFailure(agent, ep, await agent.reconcileTenants(new Set([ep.tenant])));
  if (failure) {
    await undoAttach(agent, id, logger);
    throw failure;
  }
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id, netns: attachment.netns }, 'endpoint attached');
  return agent.cache.endpoints.get(id) ?? ep;
}

export async function detach(agent: Agent, id: string, logger: Logger): Promise<Endpoint> {
  const ep = await localEndpoint(agent, id);
  const detached = await agent.opts.controller.detachEndpoint(id);
  agent.cache.putLocalEndpoint(detached);
  await agent.reconcileTenants(new Set([ep.tenant]));
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id }, 'endpoint detached');
  return detached;
}

/** Deletes the endpoint and releases its address; its port goes first if it is attached here. */
export async function remove(agent: Agent, id: string, logger: Logger): Promise<void> {
  const ep = await localEndpoint(agent, id);
  const undo = agent.cache.forgetLocalEndpoint(id, ep);
  try {
    await agent.opts.controller.deleteEndpoint(id);
  } catch (err) {
    undo();
    throw err;
  }
  await agent.reconcileTenants(new Set([ep.tenant]));
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id }, 'endpoint removed');
}

/** An endpoint this agent may change: attached here, or not attached anywhere. */
async function localEndpoint(agent: Agent, id: string): Promise<Endpoint> {
  const ep = agent.cache.endpoints.get(id) ?? (await agent.opts.controller.getEndpoint(id));
  if (ep.attachment && ep.host !== agent.host) {
    throw new TenetError('NOT_LOCAL_HOST', `endpoint ${id} is attached on host ${ep.host}, not ${agent.host}`, `use the agent of ${ep.host}`);
  }
  return ep;
}

function portFailure(agent: Agent, ep: Endpoint, result: SetResult): Error | undefined {
  return result.failedPorts.get(ep.id) ?? result.failedNamespaces.get(tenantNs(agent.opts.nsPrefix, ep.tenant));
}

function hasNamespace(req: AttachExistingRequest): boolean {
  return [req.netns, req.pid].some((v) => v !== undefined && v !== null && v !== '');
}

async function bindNetns(req: AttachExistingRequest, ifname: string): Promise<NetnsAttachment> {
  const netns = resolveNetnsPath(req);
  return { kind: 'netns', netns, netnsId: await namespaceIdentity(netns), ifname };
}

function resolveNetnsPath(req: AttachExistingRequest): string {
  const given = [req.netns, req.pid].filter((v) => v !== undefined && v !== null && v !== '');
  if (given.length !== 1) throw new TenetError('BAD_REQUEST', 'say which namespace to attach', 'give exactly one of --netns PATH or --pid PID');
  if (req.pid !== undefined && req.pid !== null && (typeof req.pid !== 'number' || !Number.isSafeInteger(req.pid) || req.pid <= 0)) {
    throw new TenetError('BAD_REQUEST', `invalid pid ${shown(req.pid)}`, 'give the process id of a running process');
  }
  if (req.netns !== undefined && req.netns !== null && typeof req.netns !== 'string') {
    throw new TenetError('BAD_REQUEST', `invalid netns ${shown(req.netns)}`, 'give a namespace name or path as a string');
  }
  const path = typeof req.netns === 'string' ? (req.netns.includes('/') ? req.netns : `/run/netns/${req.netns}`) : `/proc/${req.pid}/ns/net`;
  return validateNetnsPath(path);
}

/**
 * The namespace's identity: device and inode of the path, which stay with the namespace
 * however its path or PID is reused. The one place it is read: the namespace guard will
 * replace this with its hardened check (refusing the host's and Tenet's own namespaces).
 */
export async function namespaceIdentity(path: string): Promise<NetnsId> {
  try {
    const st = await stat(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    throw new TenetError('NETNS_NOT_FOUND', `network namespace ${path} does not exist on this host`, 'check the path (ip netns list) or the process id');
  }
}

/**
 * Deletes the endpoint of a failed attach, then converges its tenant again: the failed
 * port's elements (its pinning-set entries, loaded while the port was being made) must go
 * too, or the next full reconcile finds them and changes the namespace (an attach that
 * failed must leave nothing).
 */
async function rollback(agent: Agent, ep: Endpoint, logger: Logger): Promise<void> {
  const undo = agent.cache.forgetLocalEndpoint(ep.id);
  try {
    await agent.opts.controller.deleteEndpoint(ep.id);
  } catch (err) {
    undo();
    logger.error({ endpoint: ep.id, err: (err as Error).message }, 'rollback of a failed attach could not delete the endpoint');
    return;
  }
  await agent.reconcileTenants(new Set([ep.tenant]));
}

async function undoAttach(agent: Agent, id: string, logger: Logger): Promise<void> {
  try {
    const ep = await agent.opts.controller.detachEndpoint(id);
    agent.cache.putLocalEndpoint(ep);
    await agent.reconcileTenants(new Set([ep.tenant]));
  } catch (err) {
    logger.error({ endpoint: id, err: (err as Error).message }, 'a failed attach could not be undone');
  }
}
