/**
 * `tenet ep attach|detach|ls|show`. Attach and detach go to the agent of this host (it owns
 * the datapath and resolves --pid to a namespace path); ls and show ask the controller.
 */
import type { Command } from 'commander';
import { AgentClient } from '../api/client.js';
import { agentAddress } from '../api/defaults.js';
import type { AttachRequest, EndpointRealization } from '../api/types.js';
import { formatAge, formatFields, formatJson } from '../base/table.js';
import type { Endpoint } from '../model/types.js';
import { attachedColumns, endpointColumns, ipWithPrefix } from './columns.js';
import { globals, print, printDone, printOne, printRows, wholeNumber, withController } from './context.js';

interface AttachOptions {
  tenant: string;
  net: string;
  netns?: string;
  pid?: number;
  ifname?: string;
  ip?: string;
  mac?: string;
  id?: string;
  agent?: string;
}

const AGENT_HELP = 'agent address: unix:/path or http://host:port (default: $TENET_AGENT or the local agent socket)';

async function withAgent<T>(address: string | undefined, fn: (a: AgentClient) => Promise<T>): Promise<T> {
  const agent = new AgentClient(agentAddress(address));
  try {
    return await fn(agent);
  } finally {
    agent.close();
  }
}

/** Checked here rather than by commander so both mistakes get the same clear sentence. */
export function attachRequest(opts: AttachOptions, cmd: Command): AttachRequest {
  if ((opts.netns === undefined) === (opts.pid === undefined)) {
    cmd.error('error: give exactly one of --netns PATH or --pid PID (the network namespace to attach)');
  }
  const { tenant, net: network, netns, pid, ifname, ip, mac, id } = opts;
  return { tenant, network, netns, pid, ifname, ip, mac, id };
}

export function addEpCommands(program: Command): void {
  const ep = program.command('ep').description('attach, detach, list and show endpoints');

  ep.command('attach')
    .description('attach a network namespace on this host to a network')
    .requiredOption('--tenant <tenant>', 'tenant of the network')
    .requiredOption('--net <network>', 'network to join')
    .option('--netns <path>', 'namespace path, e.g. /run/netns/c1')
    .option('--pid <pid>', 'a process whose network namespace to attach', wholeNumber(1))
    .option('--ifname <name>', 'interface name inside the namespace', 'eth0')
    .option('--ip <address>', 'requested address (default: next free)')
    .option('--mac <mac>', 'requested MAC (default: derived from the address)')
    .option('--id <id>', 'endpoint id (default: generated); retrying with the same id is safe')
    .option('--agent <address>', AGENT_HELP)
    .action(async (opts: AttachOptions, cmd: Command) => {
      const req = attachRequest(opts, cmd);
      printOne(cmd, await withAgent(opts.agent, (a) => a.attach(req)), attachedColumns);
    });

  ep.command('detach')
    .description('detach an endpoint and release its address')
    .argument('<id>', 'endpoint id')
    .option('--agent <address>', AGENT_HELP)
    .action(async (id: string, opts: { agent?: string }, cmd: Command) => {
      await withAgent(opts.agent, (a) => a.detach(id));
      printDone(cmd, `detached endpoint ${id}`);
    });

  ep.command('ls')
    .description('list endpoints, optionally filtered')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--net <network>', 'only this network')
    .option('--host <host>', 'only this host')
    .action(async (opts: { tenant?: string; net?: string; host?: string }, cmd: Command) => {
      const filter = { tenant: opts.tenant, network: opts.net, host: opts.host };
      printRows(cmd, await withController(cmd, (c) => c.listEndpoints(filter)), endpointColumns);
    });

  ep.command('show')
    .description('show one endpoint')
    .argument('<id>', 'endpoint id')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const [e, r] = await withController(cmd, (c) => Promise.all([c.getEndpoint(id), c.endpointRealization(id)]));
      print(cmd, globals(cmd).output === 'json' ? formatJson({ ...e, realization: r }) : showText(e, r));
    });
}

function realizedText(r: EndpointRealization): string {
  const done = r.hosts.filter((h) => h.realized).length;
  const pending = r.hosts.filter((h) => !h.realized).map((h) => h.host);
  return `${r.realized ? 'yes' : 'no'}: ${done}/${r.hosts.length} hosts${pending.length ? ` (waiting for ${pending.join(', ')})` : ''}`;
}

function showText(e: Endpoint, r: EndpointRealization): string {
  return formatFields([
    ['id', e.id],
    ['tenant', e.tenant],
    ['network', e.network],
    ['host', e.host],
    ['netns', e.netns],
    ['ifname', e.ifname],
    ['mac', e.mac],
    ['ip', ipWithPrefix(e)],
    ['gateway', e.gateway],
    ['mtu', e.mtu],
    ['status', e.statusDetail ? `${e.status} (${e.statusDetail})` : e.status],
    ['realized', realizedText(r)],
    ['created', `${e.createdAt} (${formatAge(e.createdAt)})`],
    ['updated', `${e.updatedAt} (${formatAge(e.updatedAt)})`],
  ]);
}
