/**
 * The CNI_* environment (protocols.md §4.2), as the executable forwards it: which variables
 * each command needs, and their shapes. VERSION never reaches the agent (the script answers).
 */
import { TenetError } from '../model/errors.js';
import { validateIfname } from '../model/validate.js';
import { shown } from '../model/validate-endpoint.js';
import { parseCniArgs } from './args.js';
import { CNI_COMMANDS, type CniCommand, type CniEnv } from './types.js';

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$/;

/** `vars`: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS (absent = empty). */
export function parseEnv(vars: Record<string, string | undefined>): CniEnv {
  const command = vars.CNI_COMMAND ?? '';
  if (!(CNI_COMMANDS as readonly string[]).includes(command)) throw invalid(`CNI_COMMAND ${shown(command)} is not one of ${CNI_COMMANDS.join(', ')}`);
  const cmd = command as CniCommand;
  const perContainer = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  const env: CniEnv = { command: cmd, containerId: '', netns: vars.CNI_NETNS ?? '', ifname: '', args: parseCniArgs(vars.CNI_ARGS ?? '') };
  if (!perContainer) return env;
  env.containerId = containerId(vars.CNI_CONTAINERID ?? '');
  env.ifname = ifname(vars.CNI_IFNAME ?? '');
  // DEL may come after the runtime lost the namespace (a reboot): an empty path is fine then.
  if (cmd !== 'DEL' && !env.netns) throw invalid(`CNI_NETNS is empty: ${cmd} needs the container's network namespace`);
  return env;
}

function containerId(id: string): string {
  if (!CONTAINER_ID.test(id)) throw invalid(`CNI_CONTAINERID ${shown(id)} is not an id`, 'give 1-256 letters, digits, "_", "." or "-", starting with a letter or digit');
  return id;
}

function ifname(name: string): string {
  if (!name) throw invalid('CNI_IFNAME is empty', 'name the interface to create in the container, e.g. eth0');
  try {
    return validateIfname(name);
  } catch (err) {
    throw invalid(`CNI_IFNAME: ${(err as Error).message}`);
  }
}

const invalid = (message: string, fix?: string) => new TenetError('CNI_INVALID_ENV', message, fix);
