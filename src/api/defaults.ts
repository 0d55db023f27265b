/**
 * Where a local `tenet up` listens by default, so the CLI finds it with no flags, and how a
 * client finds its way to a remote controller: TENET_API / --api, TENET_TOKEN / --token (or
 * TENET_TOKEN_FILE / --token-file), TENET_CA / --ca. TENET_AGENT / --agent for the agent.
 * TENET_API / --api may list several controller replicas, comma-separated
 * (https://a:7400,https://b:7400): the client fails over between them (transport.ts, ADR 023).
 */
import { readFileSync } from 'node:fs';
import { TenetError } from '../model/errors.js';
import type { TransportOptions } from './transport.js';

export const RUN_DIR = process.env.TENET_RUN_DIR ?? '/run/tenet';
export const DEFAULT_CONTROLLER_SOCKET = `${RUN_DIR}/tenet.sock`;
export const DEFAULT_AGENT_SOCKET = `${RUN_DIR}/agent.sock`;
/** The TCP listener is off unless asked for (issue 5): `--listen 0.0.0.0:7400` turns it on. */
export const DEFAULT_HTTP_LISTEN = '';
export const DEFAULT_TCP_PORT = 7400;
export const DEFAULT_DATA_DIR = '/var/lib/tenet';
/** Where an agent keeps the controller's CA and its host credential. */
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/tenet/agent';

export interface ConnectionFlags {
  api?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
}

/** The controller address, or a comma-separated list of replicas of one store. */
export function controllerAddress(flag?: string): string {
  return flag ?? process.env.TENET_API ?? `unix:${DEFAULT_CONTROLLER_SOCKET}`;
}

export function agentAddress(flag?: string): string {
  return flag ?? process.env.TENET_AGENT ?? `unix:${DEFAULT_AGENT_SOCKET}`;
}

/** The address and the transport options (token, CA) from flags, then the environment. */
export function controllerConnection(flags: ConnectionFlags): { address: string; options: TransportOptions } {
  const address = controllerAddress(flags.api);
  const tokenFile = flags.tokenFile ?? process.env.TENET_TOKEN_FILE;
  const token = flags.token ?? process.env.TENET_TOKEN ?? (tokenFile ? readText('--token-file', tokenFile).trim() : undefined);
  const caFile = flags.ca ?? process.env.TENET_CA;
  const ca = caFile ? readText('--ca', caFile) : undefined;
  return { address, options: { ...(token ? { token } : {}), ...(ca ? { ca } : {}) } };
}

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TenetError('BAD_REQUEST', `cannot read ${flag} ${path} (${code})`, flag === '--ca' ? "give the controller's CA certificate (DATA_DIR/tls/ca.crt on the controller)" : 'give the file holding the token (DATA_DIR/admin.token on the controller)');
  }
}
