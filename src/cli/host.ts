/**
 * `tenet host ls`: the hosts whose agents registered, up (the agent keeps its lease alive)
 * or down, and how far each has realized the store. `tenet host evict NAME`: removes a down
 * host with its endpoints, releasing their addresses (refused while the host is up).
 */
import type { Command } from 'commander';
import { hostColumns } from './columns.js';
import { printDone, printRows, withController } from './context.js';

export function addHostCommands(program: Command): void {
  const host = program.command('host').description('list the hosts running an agent; evict a host that is gone');

  host
    .command('ls')
    .description('list hosts: VTEP, underlay, up or down (from its lease), up since, realized revision, underlay MTU')
    .action(async (_opts: object, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => c.listHosts()), hostColumns);
    });

  host
    .command('evict')
    .description("remove a down host, its endpoints and their addresses (refused while the host's agent keeps it up)")
    .argument('<name>', 'host name')
    .action(async (name: string, _opts: object, cmd: Command) => {
      await withController(cmd, (c) => c.evictHost(name));
      printDone(cmd, `evicted host ${name}`);
    });
}
