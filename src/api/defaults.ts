/**
 * Where a local `tenet up` listens by default, so the CLI finds it with no flags.
 * TENET_API / --api and TENET_AGENT / --agent override them.
 */
export const RUN_DIR = process.env.TENET_RUN_DIR ?? '/run/tenet';
export const DEFAULT_CONTROLLER_SOCKET = `${RUN_DIR}/tenet.sock`;
export const DEFAULT_AGENT_SOCKET = `${RUN_DIR}/agent.sock`;
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:7400';
export const DEFAULT_DATA_DIR = '/var/lib/tenet';

export function controllerAddress(flag?: string): string {
  return flag ?? process.env.TENET_API ?? `unix:${DEFAULT_CONTROLLER_SOCKET}`;
}

export function agentAddress(flag?: string): string {
  return flag ?? process.env.TENET_AGENT ?? `unix:${DEFAULT_AGENT_SOCKET}`;
}
