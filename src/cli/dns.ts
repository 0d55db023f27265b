/**
 * `tenet dns ls`: the names Tenet's DNS serves in a tenant (issue 10). The records are
 * computed here from the tenant's networks and endpoints as the controller stores them, by
 * the same function the agents' servers answer from (model/dns-names.ts): no extra API
 * route, and nothing that could disagree with what a workload gets once its agent has seen
 * the same revision.
 */
import { Option, type Command } from 'commander';
import type { Column } from '../base/table.js';
import { dnsRecords, type DnsRecord } from '../model/dns-names.js';
import { printRows, withController } from './context.js';

const recordColumns: Column<DnsRecord>[] = [
  { header: 'NAME', value: (r) => r.fqdn },
  { header: 'A', value: (r) => r.ip },
  { header: 'NETWORK', value: (r) => r.network },
  { header: 'HOST', value: (r) => r.host ?? '-' },
  { header: 'PTR', value: (r) => r.ptr },
];

export function addDnsCommands(program: Command): void {
  const dns = program.command('dns').description("the names the agents' DNS servers answer on every network's gateway address");
  dns
    .command('ls')
    .description('list the A and PTR records served in a tenant (short name, <name>.<network> and <name>.<network>.<tenant>)')
    .addOption(new Option('--tenant <tenant>', 'tenant whose names to list').makeOptionMandatory())
    .option('--net <network>', 'only this network')
    .action(async (opts: { tenant: string; net?: string }, cmd: Command) => {
      const [networks, endpoints] = await withController(cmd, (c) =>
        Promise.all([opts.net ? c.getNetwork(opts.tenant, opts.net).then((n) => [n]) : c.listNetworks(opts.tenant), c.listEndpoints({ tenant: opts.tenant, network: opts.net })]),
      );
      printRows(cmd, dnsRecords(opts.tenant, networks, endpoints), recordColumns);
    });
}
