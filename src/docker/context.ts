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
  controller: Pick<ControllerClient, 'getDockerTenants' | 'getTenant' | 'listNetworks' | 'getNetwork' | 'createNetwork' | 'deleteNetwork' | 'listAddresses' | 'reserveAddress' | 'releaseAddress'>;
  agent: LocalAgent;
  state: DriverState;
  logger: Logger;
  defaultTenant: string;
  /** Asks the network sync to name pending networks now (it calls dockerd, never a handler). */
  kickSync(): void;
  /** How long a handler waits for a just-created docker network to be bound. */
  bindWaitMs: number;
  /** Set when the agent speaks to its controller with a host credential (joined over https): whose grant to check. */
  grantHost?: string;
}

/**
 * On an agent joined over https, creating a Tenet network needs the admin's grant for its
 * tenant (ADR 014 addendum). Checked in CreateNetwork, which dockerd calls synchronously in
 * `docker network create` (libnetwork's NewNetwork: ipamAllocate, then the driver's
 * CreateNetwork, rolled back on error), so the create fails there and nothing is recorded.
 * `tenant` undefined: the tenant may still come from the name (NAME/TENANT), which dockerd
 * never passes; then a host with no grant at all is refused, one with some is left to the sync.
 */
export async function requireGrant(ctx: DriverContext, tenant: string | undefined): Promise<void> {
  const host = ctx.grantHost;
  if (host === undefined) return;
  const { tenants } = await ctx.controller.getDockerTenants(host);
  if (tenant === undefined ? tenants.length > 0 : tenants.includes(tenant)) return;
  const what = tenant === undefined ? 'in any tenant: the admin has granted it none' : `in tenant ${tenant}: the admin has not granted it that tenant`;
  const fix = tenant === undefined ? `tenet docker allow ${host} TENANT\` (${ctx.defaultTenant} for a name without /TENANT)` : `tenet docker allow ${host} ${tenant}\``;
  throw new TenetError('FORBIDDEN', `host ${host} (joined over https) may not create Docker networks ${what}`, `an admin runs \`${fix} on the controller, then create the network again`);
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
