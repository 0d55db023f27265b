/**
 * Attach and detach: the synchronous path the CLI, the CNI plugin and the Docker driver use.
 * Attach validates locally first (the namespace guard: the namespace must exist here, must
 * not be the host's, the agent's or Tenet's, and the identity it returns is recorded), asks
 * the controller for the endpoint (IPAM happens there, atomically, in the same txn as the
 * attachment when the endpoint is new), realizes it in the kernel, and answers only when the
 * interface is up and its status `up` is written: `pending` until then means "attaching",
 * and an agent that dies in between rolls it back on restart unless the caller retries
 * (claims.ts), as it does an attach whose controller answer was lost. If the kernel refuses,
 * the change is undone: the caller sees one clear error and nothing is left half-made.
 *
 * Idempotency: an attach carries a key (the CLI makes one per invocation); the endpoint id
 * is derived from the key, so a retry with the same key finds the same endpoint (same
 * id, same address) in the controller's create txn and completes its realization. The same
 * key with other parameters is IDEMPOTENCY_KEY_REUSED.
 *
 * Detach keeps the endpoint (name, labels, MAC, address) and removes only its port; remove
 * deletes the endpoint and releases what it holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AttachExistingRequest, AttachRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Attachment, Endpoint } from '../model/types.js';
import { validateIfname, validateMac, validateName } from '../model/validate.js';
import { shown, validateEndpointName, validateLabels } from '../model/validate-endpoint.js';
import type { SetResult } from '../datapath/datapath.js';
import { handoffIfname, tenantNs } from '../datapath/names.js';
import type { Agent } from './agent.js';
import { untilNetworkKnown } from './view-wait.js';

/** The one place an attach body is read (a schema can replace it). */
function parseAttach(req: AttachRequest) {
  return {
    tenant: validateName('tenant', req.tenant),
    network: validateName('network', req.network),
    ifname: validateIfname(req.ifname),
    mac: validateMac(req.mac),
    ip: req.ip === undefined || req.ip === null ? undefined : typeof req.ip === 'string' ? req.ip : String(req.ip),
    id: req.id ?? idFromKey(req.idempotencyKey),
    name: validateEndpointName(req.name),
    labels: validateLabels(req.labels),
  };
}

/** Creates an endpoint on this host, attached when a namespace is given (one controller txn). */
export async function attach(agent: Agent, req: AttachRequest, logger: Logger): Promise<Endpoint> {
  const p = parseAttach(req);
  // An attach's id is chosen here, not by the controller: a handoff's host-side name hashes
  // it, and an attach whose answer is lost can then be found again (claims.ts) and its
  // create sent again to another replica (ADR 023).
  const attached = req.handoff === true || hasNamespace(req);
  if (attached) p.id ??= randomBytes(6).toString('hex');
  const attachment = attached ? await binding(agent, req, p.ifname, p.id!) : undefined;
  const { tenant, network } = p;
  const spec = { host: agent.host, ip: p.ip, mac: p.mac, id: p.id, name: p.name, labels: p.labels, attachment };
  const created = await agent.claims.attaching(p.id, () => keyed(req, agent.opts.controller.createEndpoint(tenant, network, spec)));
  if (!attachment) {
    logger.info({ tenant, network, endpoint: created.id, ip: created.ip }, 'endpoint created detached');
    return created;
  }
  agent.cache.putLocalEndpoint(created);
  await untilNetworkKnown(agent.cache, created);
  if (attachment.kind === 'handoff') agent.opts.datapath.readBackNext(tenantNs(agent.opts.nsPrefix, tenant), created.id);
  try {
    const realized = attachment.kind === 'netns' ? agent.completeAttach(created) : agent.reconcileTenants(new Set([tenant]), created.id);
    const failure = portFailure(agent, created, await realized);
    if (failure) {
      await rollback(agent, created, logger);
      throw failure;
    }
  } finally {
    agent.claims.done(created.id);
  }
  logger.info({ tenant, network, endpoint: created.id, ip: created.ip, ...where(attachment) }, 'endpoint attached');
  return agent.cache.endpoints.get(created.id) ?? created;
}

/** Attaches an existing, detached endpoint to a namespace of this host. */
export async function attachExisting(agent: Agent, id: string, req: AttachExistingRequest, logger: Logger): Promise<Endpoint> {
  if (!hasNamespace(req) && req.handoff !== true) throw new TenetError('BAD_REQUEST', 'say which namespace to attach', 'give exactly one of --netns PATH, --pid PID or --handoff');
  const attachment = await binding(agent, req, validateIfname(req.ifname), id);
  const ep = await agent.claims.attaching(id, () => agent.opts.controller.attachEndpoint(id, { host: agent.host, attachment }));
  agent.cache.putLocalEndpoint(ep);
  await untilNetworkKnown(agent.cache, ep);
  if (attachment.kind === 'handoff') agent.opts.datapath.readBackNext(tenantNs(agent.opts.nsPrefix, ep.tenant), id);
  try {
    const failure = portFailure(agent, ep, await agent.reconcileTenants(new Set([ep.tenant]), id));
    if (failure) {
      await undoAttach(agent, id, logger);
      throw failure;
    }
  } finally {
    agent.claims.done(id);
  }
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id, ...where(attachment) }, 'endpoint attached');
  return agent.cache.endpoints.get(id) ?? ep;
}

/**
 * Keeps the endpoint (name, labels, MAC, address) and removes only its port. `overlap`
 * (Docker's Leave): the port's removal runs while the controller detaches, as a CNI DEL's
 * does (remove below), so a Leave costs the longer of the two instead of their sum. dockerd
 * is tearing the sandbox down and the port goes either way; a refused detach puts the
 * endpoint back as it was and converges again (its pair is made again, as for any attached
 * handoff whose pair is missing), and the Leave fails. Without it (`tenet ep detach`), a
 * refused detach never touches a live port.
 */
export async function detach(agent: Agent, id: string, logger: Logger, overlap = false): Promise<Endpoint> {
  const ep = await localEndpoint(agent, id);
  const tenants = new Set([ep.tenant]);
  let converging: Promise<unknown> | undefined;
  if (overlap && ep.attachment) {
    const { attachment: _gone, statusDetail: _detail, mtu: _mtu, ...rest } = ep;
    agent.cache.putLocalEndpoint({ ...rest, status: 'detached' });
    converging = agent.reconcileTenants(tenants);
  }
  let detached: Endpoint;
  try {
    detached = await agent.opts.controller.detachEndpoint(id);
  } catch (err) {
    if (converging) {
      await converging.catch(() => undefined);
      const gone = err instanceof TenetError && err.code === 'ENDPOINT_NOT_FOUND'; // deleted meanwhile: its removal stands
      if (!gone && agent.cache.endpoints.get(id)?.attachment === undefined) {
        agent.cache.putLocalEndpoint(ep);
        await agent.reconcileTenants(tenants).catch(() => undefined); // a failure is the next reconcile's
      }
    }
    throw err;
  }
  agent.cache.putLocalEndpoint(detached);
  await (converging ?? agent.reconcileTenants(tenants));
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id }, 'endpoint detached');
  return detached;
}

/**
 * Deletes the endpoint and releases its address; its port goes first if it is attached here.
 * `overlap` (CNI DEL): the port's removal runs while the controller deletes, so a DEL costs
 * the longer of the two instead of their sum. The runtime asked for the network to go, so
 * removing the port before the controller answers is what it wants either way; a refused
 * delete puts the endpoint back and converges again (its port is made again while its
 * namespace lives), and the DEL fails for the runtime to retry. Without it (`tenet ep rm`),
 * a refused delete never touches a live port.
 */
export async function remove(agent: Agent, id: string, logger: Logger, overlap = false): Promise<void> {
  const ep = await localEndpoint(agent, id);
  const undo = agent.cache.forgetLocalEndpoint(id, ep);
  const tenants = new Set([ep.tenant]);
  const ms = since(performance.now());
  const took: Record<string, number> = {}; // for the log: where a DEL's time went
  const converging = overlap ? agent.reconcileTenants(tenants).finally(() => (took.kernel = ms())) : undefined;
  try {
    await agent.opts.controller.deleteEndpoint(id);
    took.controller = ms();
  } catch (err) {
    const gone = err instanceof TenetError && err.code === 'ENDPOINT_NOT_FOUND';
    if (!(overlap && gone)) undo(); // deleted meanwhile by another: its removal stands
    if (converging) {
      await converging.catch(() => undefined);
      if (!gone) await agent.reconcileTenants(tenants).catch(() => undefined); // its port back; a failure is the next reconcile's
    }
    throw err;
  }
  await (converging ?? agent.reconcileTenants(tenants));
  logger.info({ tenant: ep.tenant, network: ep.network, endpoint: id, ms: { ...took, total: ms() } }, 'endpoint removed');
}

/** Milliseconds since `t0`, rounded (the log's stage timings). */
const since = (t0: number) => (): number => Math.round(performance.now() - t0);

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

/**
 * What the endpoint is bound to. A namespace: the guard's check of it, and the attachment
 * records the identity it returns. A handoff: the host-side interface Tenet will make
 * (src/datapath/handoff.ts), named from the endpoint id; when the endpoint already had a
 * port here, the next reconcile of the tenant reads the kernel back, so a Join after the
 * runtime's sandbox (and with it the pair) was destroyed finds the pair made again instead
 * of the fast path's memory of it (Datapath.readBackNext; a fresh Join keeps the fast path).
 */
async function binding(agent: Agent, req: AttachExistingRequest, ifname: string, id: string): Promise<Attachment> {
  if (req.handoff === true) {
    if (hasNamespace(req)) throw new TenetError('BAD_REQUEST', 'a handoff attach takes no namespace', 'give exactly one of --netns PATH, --pid PID or --handoff');
    return { kind: 'handoff', hostIfname: handoffIfname(id, ifname), ifname };
  }
  const { path, identity } = await agent.namespaces.resolve(req);
  return { kind: 'netns', netns: path, netnsId: { dev: identity.dev, ino: identity.ino }, ifname };
}

/** For the log: the namespace, or the host-side interface of a handoff. */
const where = (a: Attachment): Record<string, string> => (a.kind === 'netns' ? { netns: a.netns } : { hostIfname: a.hostIfname });

/**
 * The endpoint id an idempotency key stands for on this host: a retry with the same key
 * names the same endpoint, which the controller's create txn returns instead of a new one.
 */
export function idFromKey(key: unknown): string | undefined {
  if (key === undefined || key === null || key === '') return undefined;
  if (typeof key !== 'string' || key.length > 200 || /[\x00-\x1f\x7f]/.test(key)) {
    throw new TenetError('BAD_REQUEST', `invalid idempotencyKey ${shown(key)}`, 'give a string of at most 200 printable characters (the CLI makes one per call)');
  }
  return `ik-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** With a key, an id clash can only mean the key was used for another attach. */
async function keyed(req: AttachRequest, p: Promise<Endpoint>): Promise<Endpoint> {
  try {
    return await p;
  } catch (err) {
    if (req.id === undefined && req.idempotencyKey && err instanceof TenetError && err.code === 'ENDPOINT_EXISTS') {
      throw new TenetError('IDEMPOTENCY_KEY_REUSED', `idempotency key ${shown(req.idempotencyKey)} was used for an attach with other parameters (${err.message})`, 'use a new key for a new attach; retry only the very same request with a key');
    }
    throw err;
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
    logger.error({ endpoint: ep.id, err: (err as Error).message }, 'rollback of a failed attach could not delete the endpoint; trying again after the claim window');
    agent.claims.answerLost(ep.id);
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
