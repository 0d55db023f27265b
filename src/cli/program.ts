/**
 * The `tenet` user commands as one commander program. The entry point (src/cmd/tenet.ts)
 * builds it, adds the daemon and lab commands, then hands argv to `runCli`, which owns the
 * exit-code contract: 0 success, 1 a TenetError (one line `tenet: <message>`, the message
 * already says how to fix it), 2 a usage error (commander's one-line message). A stack
 * trace never reaches the user.
 */
import { Command, CommanderError, Option } from 'commander';
import { OUTPUT_FORMATS } from '../base/table.js';
import { asTenetError } from '../model/errors.js';
import { addConnectionOptions } from './context.js';
import { addDockerCommands } from './docker.js';
import { addEpCommands } from './ep.js';
import { addHostCommands } from './host.js';
import { addIpCommands } from './ip.js';
import { addDnsCommands } from './dns.js';
import { addNetCommands } from './net.js';
import { addPolicyCommands } from './policy.js';
import { addStatusCommand } from './status.js';
import { addTenantCommands } from './tenant.js';
import { addTokenCommands } from './token.js';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/**
 * Output settings and exitOverride are set before any subcommand is added because commander
 * copies them into each subcommand when it is created (including `lab`, added later).
 */
export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command('tenet')
    .description('Tenet: multi-tenant virtual networks for containers on many hosts')
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      // Commander appends "(Did you mean …?)" on a second line; keep errors to one line.
      outputError: (text, write) => write(`${text.trimEnd().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .exitOverride();
  addConnectionOptions(program)
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'));
  addTenantCommands(program);
  addNetCommands(program);
  addPolicyCommands(program);
  addDnsCommands(program);
  addEpCommands(program);
  addDockerCommands(program);
  addIpCommands(program);
  addHostCommands(program);
  addTokenCommands(program);
  addStatusCommand(program);
  return program;
}

/**
 * Parses `args` (the user's arguments: process.argv.slice(2)), runs the command and returns
 * the exit code; it never throws. An action may throw a CommanderError with a code outside
 * "commander.*" to exit with its exitCode silently (`lab exec` passes on its command's code).
 */
export async function runCli(args: string[], program: Command): Promise<number> {
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return exitCodeFor(err, program);
  }
}

function exitCodeFor(err: unknown, program: Command): number {
  if (err instanceof CommanderError) {
    if (!err.code.startsWith('commander.')) return err.exitCode;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    return EXIT_USAGE; // commander printed its message (or the help) already
  }
  const write = program.configureOutput().writeErr ?? processIO.err;
  write(`tenet: ${asTenetError(err).message}\n`);
  return EXIT_ERROR;
}
