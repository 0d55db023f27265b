/** `tenet tenant create|ls|rm`. */
import type { Command } from 'commander';
import { tenantColumns } from './columns.js';
import { printDone, printOne, printRows, withController } from './context.js';

export function addTenantCommands(program: Command): void {
  const tenant = program.command('tenant').description('create, list and remove tenants');

  tenant
    .command('create')
    .description('create a tenant')
    .argument('<name>', 'tenant name')
    .action(async (name: string, _opts: object, cmd: Command) => {
      printOne(cmd, await withController(cmd, (c) => c.createTenant(name)), tenantColumns);
    });

  tenant
    .command('ls')
    .description('list tenants')
    .action(async (_opts: object, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => c.listTenants()), tenantColumns);
    });

  tenant
    .command('rm')
    .description('remove a tenant (it must have no networks)')
    .argument('<name>', 'tenant name')
    .action(async (name: string, _opts: object, cmd: Command) => {
      await withController(cmd, (c) => c.deleteTenant(name));
      printDone(cmd, `removed tenant ${name}`);
    });
}
