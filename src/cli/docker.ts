/**
 * `tenet attach CONTAINER` and `tenet detach CONTAINER` (as OpenContrail's docker.py did): a
 * running container of this host's dockerd, named by id or name, joins a Tenet network. The
 * agent asks dockerd for the container's PID, so the CLI needs no Docker access.
 *   tenet attach web --tenant admin --net green [--ip A] [--ifname eth1] [--label k=v]
 *   tenet detach web [--net green]     removes the endpoint(s), releasing the address(es)
 * Containers started with TENET_TENANT/TENET_NETWORK (or tenet.* labels) need neither:
 * the agent's event monitor attaches them (src/docker/monitor.ts).
 *   tenet docker allow HOST [TENANT...]   (admin) lets a host joined over https create and
 *                                         delete networks of these tenants for Docker; none: takes it back
 */
import type { Command } from 'commander';
import { attachedColumns } from './columns.js';
import { printDone, printOne, withController } from './context.js';
import { AGENT_HELP, labelOption, retryingAttach, withAgent } from './ep.js';

interface ContainerAttachOptions {
  tenant: string;
  net: string;
  ip?: string;
  ifname?: string;
  label?: Record<string, string>;
  agent?: string;
}

export function addDockerCommands(program: Command): void {
  program
    .command('attach')
    .description("attach a running Docker container of this host (id or name) to a Tenet network")
    .argument('<container>', 'container id, short id or name')
    .requiredOption('--tenant <tenant>', 'tenant of the network')
    .requiredOption('--net <network>', 'network to join')
    .option('--ip <address>', 'requested address (default: next free)')
    .option('--ifname <name>', 'interface name inside the container', 'eth0')
    .option('--label <key=value>', 'a label (repeatable)', labelOption)
    .option('--agent <address>', AGENT_HELP)
    .action(async (container: string, o: ContainerAttachOptions, cmd: Command) => {
      const req = { container, tenant: o.tenant, network: o.net, ip: o.ip, ifname: o.ifname, labels: o.label };
      // Keyed by the container on the agent's side: a retry after a dropped call finds the same endpoint.
      printOne(cmd, await withAgent(o.agent, (a) => retryingAttach(() => a.attachContainer(req))), attachedColumns);
    });
  program
    .command('detach')
    .description("detach a Docker container from Tenet: its endpoints (of --net, or all) are removed and their addresses released")
    .argument('<container>', 'container id, short id or name')
    .option('--net <network>', 'only the endpoint in this network')
    .option('--agent <address>', AGENT_HELP)
    .action(async (container: string, o: { net?: string; agent?: string }, cmd: Command) => {
      const { removed } = await withAgent(o.agent, (a) => a.detachContainer({ container, network: o.net }));
      printDone(cmd, `detached ${container}: removed endpoint${removed.length === 1 ? '' : 's'} ${removed.join(', ')}`);
    });
}

/** `tenet docker allow`, in the `docker` group (made by src/cmd/docker-setup.ts). */
export function addDockerAllow(docker: Command): void {
  docker
    .command('allow')
    .description('(admin) let HOST\'s agent create and delete networks of these tenants through docker network create/rm; no tenant takes the grant back (ADR 014)')
    .argument('<host>', 'a host joined with a join token')
    .argument('[tenants...]', 'tenant names')
    .action(async (host: string, tenants: string[], _o: unknown, cmd: Command) => {
      const r = await withController(cmd, (c) => c.setDockerTenants(host, tenants));
      printDone(cmd, r.tenants.length ? `host ${r.host} may manage the Docker networks of ${r.tenants.join(', ')}` : `host ${r.host} may manage no Docker networks`);
    });
}
