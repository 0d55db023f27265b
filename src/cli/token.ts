/**
 * `tenet token create --agent [--ttl 24h] | ls | rm ID | rm --host NAME`: join tokens for
 * agents, and the per-host credentials they become (ADR 006). Admin only: run it on the
 * controller's host (the unix socket) or with the admin token.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { TokenInfo } from '../api/credentials.js';
import { tokenApi } from '../api/token-client.js';
import { formatAge, type Column } from '../base/table.js';
import { globals, note, print, printDone, printRows, withController } from './context.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "30m", "24h", "7d" → seconds; anything else is a usage error. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : 0;
  if (!seconds) throw new InvalidArgumentError('expected a duration such as 30m, 24h or 7d.');
  return seconds;
}

const tokenColumns: Column<TokenInfo>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'KIND', value: (t) => (t.kind === 'join' ? 'join (agent)' : 'host credential') },
  { header: 'HOST', value: (t) => t.host },
  { header: 'CREATED', value: (t) => formatAge(t.created) },
  { header: 'EXPIRES', value: (t) => (t.expires ? (t.expired ? 'expired' : t.expires) : 'never (revoke with rm --host)') },
];

export function addTokenCommands(program: Command): void {
  const token = program.command('token').description('join tokens for agents, and host credentials (admin only)');

  token
    .command('create')
    .description('create a join token: `tenet agent --controller https://CTL:7400 --join-token TOKEN` on each new host')
    .option('--agent', 'a token agents join with (the only kind)')
    .option('--ttl <duration>', 'how long it can be used: 30m, 24h, 7d', parseTtl, 86400)
    .action(async (opts: { agent?: boolean; ttl: number }, cmd: Command) => {
      if (!opts.agent) cmd.error('error: say what the token is for: --agent (the only kind)', { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
      const created = await withController(cmd, (c) => tokenApi(c).createAgentToken(opts.ttl));
      if (globals(cmd).output === 'json') return print(cmd, `${JSON.stringify(created, null, 2)}\n`);
      print(cmd, `${created.token}\n`);
      note(cmd, `join token ${created.id}, usable by any number of hosts until ${created.expires} (tenet token rm ${created.id} ends it)\n`);
    });

  token
    .command('ls')
    .description('list join tokens and host credentials (never their secrets)')
    .action(async (_opts: object, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => tokenApi(c).list()), tokenColumns);
    });

  token
    .command('rm')
    .description('delete a join token, or revoke the credential of a host (--host)')
    .argument('[id]', 'join token id (from `tenet token ls`)')
    .option('--host <name>', "revoke this host's credential: its agent is refused until it joins again")
    .action(async (id: string | undefined, opts: { host?: string }, cmd: Command) => {
      if (!id === !opts.host) cmd.error('error: give a join token id, or --host NAME (one of them)', { exitCode: 2, code: 'commander.invalidArgument' });
      await withController(cmd, (c) => (opts.host ? tokenApi(c).revokeHost(opts.host) : tokenApi(c).remove(id!)));
      printDone(cmd, opts.host ? `revoked the credential of host ${opts.host}` : `removed join token ${id}`);
    });
}
