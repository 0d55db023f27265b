/**
 * `tenet lab docker hN -- ARGS`: the docker CLI pointed at lab host hN's own dockerd, with
 * the terminal passed through and its exit code returned, so a lab host is driven exactly
 * as a real Docker host is.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { TenetError } from '../model/errors.js';
import type { ResolvedConfig } from './config.js';
import { requireState } from './containers.js';

/** `docker -H unix://SOCKET ARGS…` for a lab host; throws LAB_ERROR when it runs no dockerd. */
export function dockerArgv(c: ResolvedConfig, hostName: string, args: string[]): string[] {
  const state = requireState(c);
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host) throw new TenetError('LAB_ERROR', `the lab has no host ${hostName}`, `pick one of ${state.hosts.map((h) => h.name).join(', ')}`);
  if (!host.docker) throw new TenetError('LAB_ERROR', `lab host ${hostName} runs no dockerd`, 'bring the lab up with docker: tenet lab down; tenet lab up --hosts N --docker');
  return ['docker', '-H', `unix://${host.docker.socket}`, ...args];
}

export function labDocker(c: ResolvedConfig, hostName: string, args: string[]): Promise<number> {
  const argv = dockerArgv(c, hostName, args);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    child.once('error', (err) => reject(new TenetError('LAB_ERROR', `cannot run the docker CLI: ${err.message}`, 'install it (apt-get install docker.io)')));
    child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}
