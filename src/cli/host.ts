/** `tenet host ls`: the hosts whose agents registered, and how fresh their view is. */
import type { Command } from 'commander';
import { hostColumns } from './columns.js';
import { printRows, withController } from './context.js';

export function addHostCommands(program: Command): void {
  const host = program.command('host').description('list the hosts running an agent');

  host
    .command('ls')
    .description('list hosts: VTEP address, underlay MTU, last heartbeat, realized revision')
    .action(async (_opts: object, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => c.listHosts()), hostColumns);
    });
}
