/**
 * `tenet lab up|down|ls|run|exec|rm|restart|docker`. Uses the program's global --api and -o. Agents inside
 * host namespaces cannot reach the root namespace's 127.0.0.1, only a unix socket, so the
 * lab needs the controller's socket path: --controller-socket, else the --api / TENET_API
 * address when it is `unix:/path`, else the default socket of a local `tenet up`.
 */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CONTROLLER_SOCKET } from '../api/defaults.js';
import type { OutputFormat } from '../base/table.js';
import { TenetError } from '../model/errors.js';
import { MAX_HOSTS } from './config.js';
import { MAX_CONTROLLERS } from './controllers.js';
import { Lab } from './lab.js';
import { renderDown, renderLs, renderUp } from './render.js';

interface LabOptions {
  api?: string;
  output?: OutputFormat;
  prefix?: string;
  controllerSocket?: string;
}

export function labFromOptions(o: LabOptions): Lab {
  const api = o.api ?? process.env.TENET_API;
  const socket = o.controllerSocket ?? (api?.startsWith('unix:') ? api.slice('unix:'.length) : DEFAULT_CONTROLLER_SOCKET);
  return new Lab({ prefix: o.prefix, controllerSocket: socket, controllerAddress: api ?? `unix:${socket}` });
}

function context(cmd: Command): { lab: Lab; format: OutputFormat; out: (t: string) => void; err: (t: string) => void } {
  const o = cmd.optsWithGlobals<LabOptions>();
  const io = cmd.configureOutput();
  return {
    lab: labFromOptions(o),
    format: o.output ?? 'table',
    out: io.writeOut ?? ((t) => void process.stdout.write(t)),
    err: io.writeErr ?? ((t) => void process.stderr.write(t)),
  };
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new TenetError('NOT_ROOT', `tenet lab ${what} creates network namespaces and must run as root`, `run it with sudo: sudo tenet lab ${what} …`);
  }
}

function hostCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_HOSTS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_HOSTS}.`);
  return n;
}

function storeKind(text: string): 'etcd' {
  if (text !== 'etcd') throw new InvalidArgumentError('the lab can start etcd only: --store etcd.');
  return text;
}

function controllerCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_CONTROLLERS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_CONTROLLERS}.`);
  return n;
}

/** Repeatable --label k=v (the lab may not import the CLI layer; `tenet ep` has the same rule). */
function labelOption(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value.');
  return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
}

export function addLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('simulated hosts on this machine, each a namespace running a real agent')
    .option('--prefix <prefix>', 'name prefix of everything the lab makes (default: $TENET_LAB_PREFIX or tnlab)')
    .option('--controller-socket <path>', "the controller's unix socket, reachable from the host namespaces");

  lab.command('up')
    .description('build the underlay and N hosts, and start an agent on each')
    .requiredOption('--hosts <n>', 'number of hosts, 1 to 16', hostCount)
    .option('--docker', "each host also runs its own real dockerd, served by its agent's tenet driver (drive it with tenet lab docker hN -- …)")
    .option('--store <kind>', 'etcd: the lab starts its own 3-member etcd on loopback ports and controller replicas on it (then: eval "$(tenet lab env)")', storeKind)
    .option('--controllers <n>', `with --store etcd: how many controller replicas, 1 to ${MAX_CONTROLLERS} (default 2)`, controllerCount)
    .action(async (opts: { hosts: number; docker?: boolean; store?: 'etcd'; controllers?: number }, cmd: Command) => {
      requireRoot('up');
      if (opts.controllers !== undefined && !opts.store) throw new TenetError('LAB_ERROR', '--controllers needs --store etcd', 'without --store the lab uses the controller you started; add --store etcd');
      const { lab, format, out } = context(cmd);
      out(renderUp(format, await lab.up(opts.hosts, { docker: opts.docker, store: opts.store, controllers: opts.controllers })));
    });

  lab.command('env')
    .description('print `export TENET_API=…` for the lab\'s controllers: eval "$(tenet lab env)"')
    .action((_opts: object, cmd: Command) => {
      const { lab, out } = context(cmd);
      const api = lab.ls().api;
      if (!api) throw new TenetError('LAB_ERROR', `no lab with prefix ${lab.prefix} is up`, 'run `tenet lab up` first');
      out(`export TENET_API=${api}\n`);
    });

  lab.command('down')
    .description('remove everything the lab made (works after a crash; safe to repeat)')
    .action(async (_opts: object, cmd: Command) => {
      requireRoot('down');
      const { lab, format, out } = context(cmd);
      out(renderDown(format, lab.prefix, await lab.down()));
    });

  lab.command('ls')
    .description('list the lab hosts, containers and the processes the lab started')
    .action((_opts: object, cmd: Command) => {
      const { lab, format, out } = context(cmd);
      out(renderLs(format, lab.ls()));
    });

  lab.command('run')
    .description("create a container (a namespace) on a lab host and attach it; prints the container's IP")
    .argument('<host>', 'lab host, e.g. h1')
    .argument('<name>', 'container name')
    .requiredOption('--tenant <tenant>', 'tenant of the network')
    .requiredOption('--net <network>', 'network to join')
    .option('--ip <address>', 'requested address (default: next free)')
    .option('--mac <mac>', 'requested MAC')
    .option('--label <key=value>', 'a label of its endpoint (repeatable)', labelOption)
    .option('--dhcp', 'start with no address and get it from the DHCP server of the agent (busybox udhcpc)')
    .action(async (host: string, name: string, opts: { tenant: string; net: string; ip?: string; mac?: string; label?: Record<string, string>; dhcp?: boolean }, cmd: Command) => {
      requireRoot('run');
      const { lab, format, out, err } = context(cmd);
      const ep = await lab.run(host, name, { tenant: opts.tenant, network: opts.net, ip: opts.ip, mac: opts.mac, labels: opts.label, dhcp: opts.dhcp });
      if (format === 'json') return out(`${JSON.stringify(ep, null, 2)}\n`);
      // stdout carries only the address, so `IP=$(tenet lab run …)` works; the rest is for people.
      err(`${name} on ${host}: endpoint ${ep.id}, ${ep.ip}/${ep.prefixLen} in ${ep.tenant}/${ep.network}\n`);
      out(`${ep.ip}\n`);
    });

  lab.command('exec')
    .description('run a command inside a lab container: tenet lab exec c1 -- ping -c1 192.168.10.3')
    .argument('<name>', 'container name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (name: string, argv: string[], _opts: object, cmd: Command) => {
      requireRoot('exec');
      const code = await context(cmd).lab.exec(name, argv);
      // runCli exits with this code without printing anything more.
      if (code !== 0) throw new CommanderError(code, 'tenet.lab.exec', `command exited with ${code}`);
    });

  lab.command('docker')
    .description("the docker CLI against a lab host's dockerd: tenet lab docker h1 -- run -d --net=red busybox sleep 1d")
    .argument('<host>', 'lab host, e.g. h1 (the lab must be up with --docker)')
    .argument('<args...>', 'the docker arguments (after --)')
    .action(async (host: string, args: string[], _opts: object, cmd: Command) => {
      requireRoot('docker');
      const code = await context(cmd).lab.docker(host, args);
      if (code !== 0) throw new CommanderError(code, 'tenet.lab.docker', `docker exited with ${code}`);
    });

  lab.command('rm')
    .description('detach a lab container and delete its namespace')
    .argument('<name>', 'container name')
    .action(async (name: string, _opts: object, cmd: Command) => {
      requireRoot('rm');
      const { lab, format, out } = context(cmd);
      await lab.rm(name);
      if (format === 'table') out(`removed lab container ${name}\n`);
    });

  lab.command('restart')
    .description("restart a host's agent (traffic keeps flowing: the agent never flushes the kernel), or an etcd member or controller of the lab's own cluster")
    .argument('<name>', 'lab host (h1), etcd member (e1) or controller replica (c1)')
    .action(async (host: string, _opts: object, cmd: Command) => {
      requireRoot('restart');
      const { lab, format, out } = context(cmd);
      const pid = await lab.restartAgent(host);
      if (format === 'table') out(`restarted ${/^h\d+$/.test(host) ? `the agent of ${host}` : host}: pid ${pid}\n`);
    });
}
