/**
 * The tree under test, loaded at run time from `--tree DIR` (a built checkout: DIR/dist/…),
 * so the same benchmark drives the code before issue 6 and after it. Types come from this
 * checkout; only what both trees export under the same names is used.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type AgentModule = typeof import('../../src/agent/agent.js');
type AttachModule = typeof import('../../src/agent/attach.js');
type ClientModule = typeof import('../../src/api/client.js');
type LoggerModule = typeof import('../../src/base/logger.js');

export interface Tree {
  dir: string;
  /** The CLI entry whose `controller` command the benchmark starts. */
  entry: string;
  Agent: AgentModule['Agent'];
  attach: AttachModule['attach'];
  ControllerClient: ClientModule['ControllerClient'];
  silentLogger: LoggerModule['silentLogger'];
}

export async function loadTree(dir: string): Promise<Tree> {
  const root = resolve(dir);
  const file = (p: string) => {
    const f = join(root, 'dist', 'src', p);
    if (!existsSync(f)) throw new Error(`${f} is missing: build that tree first (npx tsc -p tsconfig.json in ${root})`);
    return f;
  };
  const load = <T>(p: string): Promise<T> => import(pathToFileURL(file(p)).href) as Promise<T>;
  const [agent, attachMod, client, logger] = await Promise.all([
    load<AgentModule>('agent/agent.js'),
    load<AttachModule>('agent/attach.js'),
    load<ClientModule>('api/client.js'),
    load<LoggerModule>('base/logger.js'),
  ]);
  return { dir: root, entry: file('cmd/tenet.js'), Agent: agent.Agent, attach: attachMod.attach, ControllerClient: client.ControllerClient, silentLogger: logger.silentLogger };
}

/** This checkout's root (dist/bench/scale/tree.js → three levels up). */
export const THIS_TREE = resolve(new URL('../../..', import.meta.url).pathname);
