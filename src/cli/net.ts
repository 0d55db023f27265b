/** `tenet net create|ls|show|update|rm`: a tenant's networks (subnet, gateway, VNI, MTU, policies, DNS forwarder). */
import { Option, type Command } from 'commander';
import type { BridgedTraffic, CreateNetworkRequest, UpdateNetworkRequest } from '../api/types.js';
import { formatAge, formatFields, formatJson, tableOf } from '../base/table.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint, Network } from '../model/types.js';
import { endpointColumns, mtuText, networkColumns } from './columns.js';
import { globals, print, printDone, printOne, printRows, wholeNumber, withController } from './context.js';

interface CreateOptions {
  tenant: string;
  subnet: string;
  gateway?: string;
  mtu?: number;
  vni?: number;
}

const tenantOption = () => new Option('--tenant <tenant>', 'tenant that owns the network').makeOptionMandatory();

export function addNetCommands(program: Command): void {
  const net = program.command('net').description('create, list, show, update (attach policies) and remove networks');

  net
    .command('create')
    .description('create a network in a tenant')
    .argument('<name>', 'network name')
    .addOption(tenantOption())
    .requiredOption('--subnet <cidr>', 'IPv4 subnet, e.g. 192.168.10.0/24')
    .option('--gateway <ip>', 'anycast gateway address (default: first usable address)')
    .option('--mtu <n>', 'workload MTU (default: underlay MTU - 50 on each host)', wholeNumber(1))
    .option('--vni <n>', 'VXLAN network identifier (default: allocated)', wholeNumber(1))
    .action(async (name: string, opts: CreateOptions, cmd: Command) => {
      const req: CreateNetworkRequest = { name, subnet: opts.subnet, gateway: opts.gateway, mtu: opts.mtu, vni: opts.vni };
      printOne(cmd, await withController(cmd, (c) => c.createNetwork(opts.tenant, req)), networkColumns);
    });

  net
    .command('ls')
    .description('list networks, of every tenant or of one')
    .option('--tenant <tenant>', 'only this tenant')
    .action(async (opts: { tenant?: string }, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => c.listNetworks(opts.tenant)), networkColumns);
    });

  net
    .command('show')
    .description('show a network, how its bridged traffic is filtered, and its endpoints')
    .argument('<name>', 'network name')
    .addOption(tenantOption())
    .action(async (name: string, opts: { tenant: string }, cmd: Command) => {
      const [network, bridged, endpoints] = await withController(cmd, (c) =>
        Promise.all([c.getNetwork(opts.tenant, name), c.getBridgedTraffic(opts.tenant, name), c.listEndpoints({ tenant: opts.tenant, network: name })]),
      );
      print(cmd, globals(cmd).output === 'json' ? formatJson({ network, bridgedTraffic: bridged, endpoints }) : showText(network, bridged, endpoints));
    });

  net
    .command('update')
    .description("attach policies to a network (exactly these, in order; --policy '' detaches all) and/or set its DNS forwarder")
    .argument('<name>', 'network name')
    .addOption(tenantOption())
    .option('--policy <names>', 'policy names, comma-separated: a,b')
    .option('--dns-upstream <ip>', "forward names outside the tenant zone to this DNS server (from each host); '' removes it (then: REFUSED)")
    .action(async (name: string, opts: { tenant: string; policy?: string; dnsUpstream?: string }, cmd: Command) => {
      if (opts.policy === undefined && opts.dnsUpstream === undefined) throw new TenetError('BAD_REQUEST', 'nothing to update', 'give --policy and/or --dns-upstream');
      const req: UpdateNetworkRequest = {};
      if (opts.policy !== undefined) req.policies = opts.policy.split(',').map((p) => p.trim()).filter((p) => p !== '');
      if (opts.dnsUpstream !== undefined) req.dnsUpstream = opts.dnsUpstream.trim();
      printOne(cmd, await withController(cmd, (c) => c.updateNetwork(opts.tenant, name, req)), networkColumns);
    });

  net
    .command('rm')
    .description('remove a network (it must have no endpoints)')
    .argument('<name>', 'network name')
    .addOption(tenantOption())
    .action(async (name: string, opts: { tenant: string }, cmd: Command) => {
      await withController(cmd, (c) => c.deleteNetwork(opts.tenant, name));
      printDone(cmd, `removed network ${name} of tenant ${opts.tenant}`);
    });
}

function showText(n: Network, bridged: BridgedTraffic, endpoints: Endpoint[]): string {
  const fields = formatFields([
    ['name', n.name],
    ['tenant', n.tenant],
    ['id', n.id],
    ['subnet', n.subnet],
    ['gateway', n.gateway],
    ['vni', n.vni],
    ['mtu', mtuText(n.mtu)],
    ['policies', n.policies?.join(', ') || '- (isolated)'],
    ['bridged traffic', bridgedText(bridged)],
    ['dns upstream', n.dnsUpstream ?? '- (other names: REFUSED)'],
    ['created', `${n.createdAt} (${formatAge(n.createdAt)})`],
  ]);
  const list = endpoints.length ? `\n${tableOf(endpoints, endpointColumns)}` : '\nno endpoints\n';
  return fields + list;
}

/** Why this network pays for conntrack, or that it does not (docs/adr/013, per bridge). */
function bridgedText(b: BridgedTraffic): string {
  return b.conntrack ? `conntrack: rules of ${b.policies.join(', ')} act on it` : 'plain bridge: no rule acts on it';
}
