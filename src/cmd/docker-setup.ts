/**
 * `tenet docker setup`: once per host, makes dockerd able to use the agent's `tenet` driver
 * and says what it found and did. dockerd finds a plugin by a socket in /run/docker/plugins
 * or by a spec file in /etc/docker/plugins naming the socket (protocols.md §1.1); a socket
 * elsewhere gets a spec file. Nothing is written when nothing is needed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { addDockerAllow } from '../cli/docker.js';
import { DEFAULT_PLUGIN_SOCKET } from '../docker/driver.js';
import { DEFAULT_DOCKER_SOCKET, DockerEngine } from '../docker/engine.js';
import { DRIVER_NAME } from '../docker/options.js';

const PLUGIN_DIR = '/run/docker/plugins';
const SPEC_DIR = '/etc/docker/plugins';

interface SetupFlags {
  dockerSocket: string;
  dockerPluginSocket: string;
  specDir: string;
}

export function addDockerCommands(program: Command, out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): void {
  const docker = program.command('docker').description('Docker integration');
  addDockerAllow(docker);
  docker
    .command('setup')
    .description('check dockerd, make it find the tenet plugin (writes a spec file if needed), say what was done')
    .option('--docker-socket <path>', "dockerd's API socket", DEFAULT_DOCKER_SOCKET)
    .option('--docker-plugin-socket <path>', "the agent's plugin socket (its --docker-plugin-socket)", DEFAULT_PLUGIN_SOCKET)
    .option('--spec-dir <dir>', 'where dockerd reads plugin spec files', SPEC_DIR)
    .action(async (f: SetupFlags) => {
      for (const line of await dockerSetup(f)) out(line);
    });
}

export async function dockerSetup(f: SetupFlags): Promise<string[]> {
  const lines: string[] = [];
  const v = await new DockerEngine(f.dockerSocket).version(); // DOCKER_UNREACHABLE says what to do
  lines.push(`dockerd ${v.Version} (API ${v.ApiVersion}) answers on ${f.dockerSocket}`);
  lines.push(specLine(f));
  lines.push((await activates(f.dockerPluginSocket))
    ? `the agent serves the ${DRIVER_NAME} driver on ${f.dockerPluginSocket}: docker network create -d ${DRIVER_NAME} --ipam-driver ${DRIVER_NAME} --subnet CIDR [-o tenant=T] NAME`
    : `nothing answers on ${f.dockerPluginSocket} yet: start the agent with --docker (tenet up --docker, or tenet agent --docker), before dockerd if you can`);
  return lines;
}

function specLine(f: SetupFlags): string {
  if (dirname(f.dockerPluginSocket) === PLUGIN_DIR && f.dockerPluginSocket.endsWith(`/${DRIVER_NAME}.sock`)) {
    return `dockerd finds the plugin by its socket ${f.dockerPluginSocket}: no spec file needed`;
  }
  const spec = join(f.specDir, `${DRIVER_NAME}.spec`);
  const text = `unix://${f.dockerPluginSocket}\n`;
  if (existsSync(spec) && readFileSync(spec, 'utf8') === text) return `${spec} already names ${f.dockerPluginSocket}`;
  mkdirSync(f.specDir, { recursive: true, mode: 0o755 });
  writeFileSync(spec, text, { mode: 0o644 });
  return `wrote ${spec}: dockerd finds the plugin at ${f.dockerPluginSocket}`;
}

/** Whether a plugin answers /Plugin.Activate on the socket (a quick check, never a wait). */
function activates(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, method: 'POST', path: '/Plugin.Activate', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
