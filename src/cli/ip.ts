/**
 * `tenet ip ls|reserve|release`: a network's address reservations (ADR 005). Endpoints and
 * the gateway hold theirs; `reserve` takes one for a request (what Docker's IPAM driver does
 * before an endpoint exists) that an endpoint created with --ip then claims.
 */
import type { Command } from 'commander';
import { formatAge, type Column } from '../base/table.js';
import type { Reservation } from '../api/types.js';
import { printDone, printOne, printRows, wholeNumber, withController } from './context.js';

const reservationColumns: Column<Reservation>[] = [
  { header: 'IP', value: (r) => r.ip },
  { header: 'OWNER', value: (r) => r.owner.kind },
  { header: 'ID', value: (r) => (r.owner.kind === 'gateway' ? '-' : r.owner.id) },
  { header: 'AGE', value: (r) => formatAge(r.createdAt) },
  { header: 'EXPIRES', value: (r) => r.expiresAt ?? '-' },
];

interface NetOptions {
  tenant: string;
  net: string;
}

function netOptions(cmd: Command): Command {
  return cmd.requiredOption('--tenant <tenant>', 'tenant of the network').requiredOption('--net <network>', 'network');
}

export function addIpCommands(program: Command): void {
  const ip = program.command('ip').description("list, reserve and release a network's addresses");

  netOptions(ip.command('ls').description('list the reserved addresses of a network (endpoints, gateway, requests)')).action(
    async (opts: NetOptions, cmd: Command) => printRows(cmd, await withController(cmd, (c) => c.listAddresses(opts.tenant, opts.net)), reservationColumns),
  );

  netOptions(ip.command('reserve').description('reserve an address for a later endpoint (tenet ep create --ip) or a runtime'))
    .option('--ip <address>', 'the address (default: next free)')
    .option('--id <id>', 'request id to recognise it by (default: generated)')
    .option('--ttl <seconds>', 'release it if no endpoint claimed it by then (default: held until released)', wholeNumber(1))
    .action(async (opts: NetOptions & { ip?: string; id?: string; ttl?: number }, cmd: Command) => {
      const req = { ip: opts.ip, owner: { kind: 'request' as const, id: opts.id }, ttlSeconds: opts.ttl };
      printOne(cmd, await withController(cmd, (c) => c.reserveAddress(opts.tenant, opts.net, req)), reservationColumns);
    });

  netOptions(ip.command('release').description('release a reserved address (not one an endpoint or the gateway holds)'))
    .argument('<address>', 'the address')
    .action(async (address: string, opts: NetOptions, cmd: Command) => {
      await withController(cmd, (c) => c.releaseAddress(opts.tenant, opts.net, address));
      printDone(cmd, `released ${address}`);
    });
}
