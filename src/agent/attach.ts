/**
 * Attach and detach: the synchronous path the CLI, the CNI plugin and the Docker driver use.
 * Attach validates locally first (the namespace must exist here), asks the controller for
 * the endpoint (IPAM happens there, atomically), realizes it in the kernel, and answers only
 * when the interface is up. If the kernel refuses, the endpoint is deleted again: the caller
 * sees one clear error and nothing is left half-made.
 */
import { access } from 'node:fs/promises';
import type { AttachRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import { validateIfname, validateMac, validateName } from '../model/validate.js';
import { tenantNs } from '../datapath/names.js';
import type { Agent } from './agent.js';

export async function attach(agent: Agent, req: AttachRequest, logger: Logger): Promise<Endpoint> {
  const tenant = validateName('tenant', req.tenant);
  const network = validateName('network', req.network);
  const netns = await resolveNetns(req);
  const ifname = validateIfname(req.ifname);
  const mac = validateMac(req.mac);
  const created = await agent.opts.controller.createEndpoint(tenant, network, { host: agent.host, netns, ifname, ip: req.ip, mac, id: req.id });
  agent.cache.putLocalEndpoint(created);
  const result = await agent.reconcileTenants(new Set([tenant]));
  const failure = result.failedPorts.get(created.id) ?? result.failedNamespaces.get(tenantNs(agent.opts.nsPrefix, tenant));
  if (failure) {
    await rollback(agent, created.id, logger);
    throw failure;
  }
  logger.info({ tenant, network, endpoint: created.id, ip: created.ip, netns }, 'endpoint attached');
  return agent.cache.endpoints.get(created.id) ?? created;
}

export async function detach(agent: Agent, id: string, logger: Logger): Promise<void> {
  const ep = agent.cache.endpoints.get(id) ?? (await agent.opts.controller.getEndpoint(id));
  if (ep.host !== agent.host) {
    throw new TenetError('NOT_LOCAL_HOST', `endpoint ${id} lives on host ${ep.host}, not ${agent.host}`, `detach it through the agent of ${ep.host}`);
  }
  await agent.opts.controller.deleteEndpoint(id);
  agent.cache.forgetLocalEndpoint(id);
  await agent.reconcileTenants(new Set([ep.tenant]));
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id }, 'endpoint detached');
}

async function resolveNetns(req: AttachRequest): Promise<string> {
  const given = [req.netns, req.pid].filter((v) => v !== undefined && v !== '');
  if (given.length !== 1) {
    throw new TenetError('BAD_REQUEST', 'say which namespace to attach', 'give exactly one of --netns PATH or --pid PID');
  }
  if (req.pid !== undefined && (!Number.isInteger(req.pid) || req.pid <= 0)) {
    throw new TenetError('BAD_REQUEST', `invalid pid ${JSON.stringify(req.pid)}`, 'give the process id of a running process');
  }
  const path = req.netns === undefined ? `/proc/${req.pid}/ns/net` : req.netns.includes('/') ? req.netns : `/run/netns/${req.netns}`;
  try {
    await access(path);
  } catch {
    throw new TenetError('NETNS_NOT_FOUND', `network namespace ${path} does not exist on this host`, 'check the path (ip netns list) or the process id');
  }
  return path;
}

async function rollback(agent: Agent, id: string, logger: Logger): Promise<void> {
  try {
    await agent.opts.controller.deleteEndpoint(id);
  } catch (err) {
    logger.error({ endpoint: id, err: (err as Error).message }, 'rollback of a failed attach could not delete the endpoint');
  }
  agent.cache.forgetLocalEndpoint(id);
}
