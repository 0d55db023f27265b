/**
 * What every user command needs from commander: the global options (--api, --token,
 * --token-file, --ca, -o), a place to
 * write output (the program's output configuration, so tests capture it), a controller
 * client that is always closed, and argument parsers whose failures are usage errors.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ControllerClient } from '../api/client.js';
import { controllerConnection, type ConnectionFlags } from '../api/defaults.js';
import { formatJson, render, tableOf, type Column, type OutputFormat } from '../base/table.js';

export interface GlobalOptions extends ConnectionFlags {
  output: OutputFormat;
}

/** The global options that say how to reach and authenticate to the controller. */
export function addConnectionOptions(program: Command): Command {
  return program
    .option('--api <address>', 'controller address: https://host:port or unix:/path; replicas comma-separated, https://a:7400,https://b:7400 (default: $TENET_API or the local socket)')
    .option('--token <token>', 'bearer token for a controller over TCP (default: $TENET_TOKEN)')
    .option('--token-file <file>', 'read the token from a file, e.g. DATA_DIR/admin.token (default: $TENET_TOKEN_FILE)')
    .option('--ca <file>', "the controller's CA certificate, DATA_DIR/tls/ca.crt on it (default: $TENET_CA)");
}

export function globals(cmd: Command): GlobalOptions {
  const all = cmd.optsWithGlobals<ConnectionFlags & { output?: OutputFormat }>();
  return { api: all.api, token: all.token, tokenFile: all.tokenFile, ca: all.ca, output: all.output ?? 'table' };
}

/** Writes to the program's stdout channel (inherited by every subcommand). */
export function print(cmd: Command, text: string): void {
  const write = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
  write(text);
}

/** A list as a table, or the raw API objects as a JSON array. */
export function printRows<T>(cmd: Command, rows: readonly T[], columns: Column<T>[]): void {
  print(cmd, render(globals(cmd).output, rows, columns));
}

/** One object (what create/attach return) as a one-row table, or as a JSON object. */
export function printOne<T>(cmd: Command, row: T, columns: Column<T>[]): void {
  print(cmd, globals(cmd).output === 'json' ? formatJson(row) : tableOf([row], columns));
}

/** Confirms a removal in table mode; JSON mode stays silent (the exit code says it all). */
export function printDone(cmd: Command, text: string): void {
  if (globals(cmd).output === 'table') print(cmd, `${text}\n`);
}

/** Human notes that must not pollute stdout (scripts read stdout). */
export function note(cmd: Command, text: string): void {
  const write = cmd.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
  write(text);
}

/** Runs `fn` with a controller client for --api / TENET_API (one address or a list of replicas; and token, CA), closing its sockets afterwards. */
export async function withController<T>(cmd: Command, fn: (c: ControllerClient) => Promise<T>): Promise<T> {
  const { address, options } = controllerConnection(globals(cmd));
  const client = new ControllerClient(address, options);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Commander arg parser for whole numbers; a bad value is a usage error (exit 2). */
export function wholeNumber(min: number): (text: string) => number {
  return (text: string) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number${min > 0 ? ` of at least ${min}` : ''}.`);
    }
    return n;
  };
}
