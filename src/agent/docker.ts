/**
 * The agent's side of Docker: attach a container's namespace by id or name (`tenet attach`,
 * as OpenContrail's docker.py did) and the event monitor's target (src/docker/monitor.ts).
 * dockerd gives the container's init PID; the namespace is /proc/PID/ns/net, attached through
 * the agent's own attach path (guard, controller txn, realization). Every endpoint made for
 * a container carries CONTAINER_LABEL, so it is removed (its address released) when the
 * container dies or is found gone.
 */
import type { ContainerAttachRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { sleep } from '../base/async.js';
import { TenetError, isTenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import type { ContainerInspect, DockerEngine } from '../docker/engine.js';
import { attachKey, containerName, CONTAINER_LABEL, endpointNameOf, monitorKey, shortId, type AttachIntent } from '../docker/markers.js';
import type { MonitorTarget } from '../docker/monitor.js';
import type { Agent } from './agent.js';
import { attach, idFromKey } from './attach.js';

/** `tenet attach CONTAINER`: one endpoint per container and network; a repeat returns it. */
export async function attachContainer(agent: Agent, engine: DockerEngine | undefined, req: ContainerAttachRequest, logger: Logger): Promise<Endpoint> {
  const c = await runningContainer(need(engine), req.container);
  const intent = { tenant: req.tenant, network: req.network, ip: req.ip, ifname: req.ifname };
  return attachIntent(agent, c, intent, attachKey(c.Id, req.tenant, req.network), logger, req.labels);
}

/** `tenet detach CONTAINER --net N`: removes the container's endpoints (of that network), releasing their addresses. */
export async function detachContainer(agent: Agent, engine: DockerEngine | undefined, container: string, network: string | undefined, logger: Logger): Promise<string[]> {
  const c = await need(engine).inspect(container);
  const mine = containerEndpoints(agent).filter((e) => e.labels[CONTAINER_LABEL] === shortId(c.Id) && (network === undefined || e.network === network));
  if (mine.length === 0) {
    throw new TenetError('ENDPOINT_NOT_FOUND', `container ${containerName(c)} has no Tenet endpoint${network ? ` in network ${network}` : ''} on this host`, 'list them with tenet ep ls -l tenet.docker.container');
  }
  for (const ep of mine) await agent.removeEndpoint(ep, `tenet detach ${containerName(c)}`, false);
  logger.info({ container: shortId(c.Id), endpoints: mine.map((e) => e.id) }, 'container detached');
  return mine.map((e) => e.id);
}

/** The event monitor's view of this agent. */
export function monitorTarget(agent: Agent, logger: Logger): MonitorTarget {
  return {
    ready: async () => {
      while (agent.reconciles.full < 1) await sleep(50); // the first full reconcile follows the first complete list
    },
    attached: (c, intent) => agent.cache.endpoints.get(idFromKey(monitorKey(c.Id, intent))!)?.attachment !== undefined,
    attach: (c, intent) => attachIntent(agent, c, intent, monitorKey(c.Id, intent), logger),
    containerEndpoints: () => containerEndpoints(agent),
    remove: (ep, why) => agent.removeEndpoint(ep, why),
    nameEndpoint: (id, name) => nameEndpoint(agent, id, name),
  };
}

/**
 * Names an endpoint of this host (Docker's driver made it, unnamed: libnetwork never passes
 * the container's name). The cache answers for ids that are not Tenet's (a bridge network's
 * EndpointID) without a controller call; one made a moment ago and not yet in the cache is
 * asked for. False when the id is no endpoint of this host.
 */
async function nameEndpoint(agent: Agent, id: string, name: string): Promise<boolean> {
  const ep = agent.cache.endpoints.get(id) ?? (await agent.opts.controller.getEndpoint(id).catch(() => undefined));
  if (!ep || ep.host !== agent.host) return false;
  if (ep.name !== name) await agent.opts.controller.nameEndpoint(id, name);
  return true;
}

function containerEndpoints(agent: Agent): Endpoint[] {
  return [...agent.cache.endpointsOn(agent.host).values()].filter((e) => e.labels[CONTAINER_LABEL] !== undefined);
}

/** Attaches with the container's name as the endpoint's name when the name rule allows it. */
async function attachIntent(agent: Agent, c: ContainerInspect, intent: AttachIntent, key: string, logger: Logger, labels: Record<string, string> = {}): Promise<Endpoint> {
  const req = {
    tenant: intent.tenant,
    network: intent.network,
    pid: c.State.Pid,
    ip: intent.ip,
    ifname: intent.ifname,
    name: endpointNameOf(c),
    labels: { ...labels, [CONTAINER_LABEL]: shortId(c.Id) },
    idempotencyKey: key,
  };
  try {
    return await attach(agent, req, logger);
  } catch (err) {
    // Another endpoint of the network has the container's name: attach it unnamed rather than not at all.
    if (isTenetError(err) && err.code === 'ENDPOINT_NAME_IN_USE') return attach(agent, { ...req, name: undefined, idempotencyKey: `${key}:unnamed` }, logger);
    throw err;
  }
}

async function runningContainer(engine: DockerEngine, idOrName: string): Promise<ContainerInspect> {
  const c = await engine.inspect(idOrName);
  if (!c.State.Running || c.State.Pid <= 0) throw new TenetError('CONTAINER_NOT_RUNNING', `container ${containerName(c)} is not running`, `start it (docker start ${containerName(c)}), then attach`);
  return c;
}

function need(engine: DockerEngine | undefined): DockerEngine {
  if (!engine) throw new TenetError('DOCKER_UNREACHABLE', 'this agent was started without a dockerd to ask', 'start the agent with --docker-socket PATH (default /var/run/docker.sock, used when it exists)');
  return engine;
}
