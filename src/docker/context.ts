/**
 * What the plugin handlers work with: the controller (networks, address reservations), the
 * local agent's attach operations (endpoints on this host), and the per-host map of docker
 * ids (state.ts). The agent process wires the real ones (src/cmd/agent.ts).
 */
import type { ControllerClient } from '../api/client.js';
import type { AttachRequest } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint, Network, PublishedPort } from '../model/types.js';
import type { BindingRecord, DriverState } from './state.js';

export interface LocalAgent {
  /** Creates an endpoint on this host (detached when the request names no namespace). */
  create(req: AttachRequest): Promise<Endpoint>;
  attachHandoff(id: string, ifname: string): Promise<Endpoint>;
  detach(id: string): Promise<Endpoint>;
  remove(id: string): Promise<void>;
  /** Replaces the endpoint's published ports ([] clears them) and realizes them (Agent.publishPorts). */
  publishPorts(id: string, ports: PublishedPort[]): Promise<Endpoint>;
}

export interface DriverContext {
  controller: Pick<ControllerClient, 'getTenant' | 'listNetworks' | 'getNetwork' | 'createNetwork' | 'deleteNetwork' | 'listAddresses' | 'reserveAddress' | 'releaseAddress'>;
  agent: LocalAgent;
  state: DriverState;
  logger: Logger;
  defaultTenant: string;
  /** Asks the network sync to name pending networks now (it calls dockerd, never a handler). */
  kickSync(): void;
  /** How long a handler waits for a just-created docker network to be bound. */
  bindWaitMs: number;
}

/** An error whose code says "already gone": deletes and releases tolerate it. */
export function isGone(err: unknown): boolean {
  return err instanceof TenetError && ['ENDPOINT_NOT_FOUND', 'NETWORK_NOT_FOUND', 'TENANT_NOT_FOUND', 'ADDRESS_NOT_RESERVED'].includes(err.code);
}

/**
 * The Tenet network behind a docker network id. A network made with `docker network create`
 * and no `-o network=` is bound a moment after CreateNetwork answers, once the sync has read
 * its name from dockerd: handlers that need it wait for that, within bounds.
 */
export async function boundNetwork(ctx: DriverContext, dockerId: string): Promise<{ binding: BindingRecord; network: Network }> {
  const deadline = Date.now() + ctx.bindWaitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const binding = ctx.state.bindings.get(dockerId);
    if (!binding) {
      throw new TenetError('NETWORK_NOT_FOUND', `docker network ${dockerId.slice(0, 12)} is not a Tenet network this agent knows`, 'remove it (docker network rm) and create it again with -d tenet --ipam-driver tenet');
    }
    if (binding.network) return { binding, network: await ctx.controller.getNetwork(binding.tenant, binding.network) };
    if (Date.now() > deadline) {
      throw new TenetError('NETWORK_NOT_FOUND', `docker network ${dockerId.slice(0, 12)} is not bound to a Tenet network yet`, "check the agent's log (it names networks through dockerd's API), then retry");
    }
    ctx.kickSync();
    await new Promise((r) => setTimeout(r, delay));
  }
}
