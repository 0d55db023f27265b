/**
 * The kernel operations Datapath.set() is made of, each all-or-nothing where the kernel
 * lets it be: a namespace is created with its settings or not at all; a namespace is
 * emptied synchronously before it is deleted; a port is created whole or rolled back.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { PortSteps } from './diff.js';
import { isOurs } from './names.js';
import { parseLinks } from './observe.js';
import { CommandError, type CommandRunner } from './runner.js';

const TENANT_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
  'net.bridge.bridge-nf-call-iptables=0',
  'net.bridge.bridge-nf-call-ip6tables=0',
  'net.bridge.bridge-nf-call-arptables=0',
];

export class KernelOps {
  constructor(
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
  ) {}

  async batch(argv: string[], commands: string[]): Promise<void> {
    if (commands.length === 0) return;
    await this.runner.run(argv, { input: commands.join('\n') + '\n' });
  }

  /** A half-made namespace (its sysctls failed) would never be fixed later: remove it. */
  async createNamespace(ns: string): Promise<void> {
    await this.runner.run(['ip', 'netns', 'add', ns]);
    try {
      await this.runner.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await this.runner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...TENANT_SYSCTLS]);
    } catch (err) {
      await this.runner.run(['ip', 'netns', 'del', ns], { allowFail: true });
      throw err;
    }
  }

  /**
   * `ip netns del` returns before the kernel has torn the namespace down, and until then its
   * VXLAN devices still hold their VNIs and its veths still hold the workloads' interface
   * names. Deleting Tenet's links first is synchronous, so both are free when we return.
   */
  async removeNamespace(ns: string): Promise<void> {
    const links = await this.runner.run(['ip', '-n', ns, '-j', '-d', 'addr', 'show'], { allowFail: true });
    const ours = [...parseLinks(links.code === 0 ? links.stdout : '[]').keys()].filter(isOurs);
    await this.batch(['ip', '-n', ns, '-batch', '-'], ours.map((name) => `link del ${name}`));
    await this.runner.run(['ip', 'netns', 'del', ns]);
  }

  /** VXLAN devices are born in the host namespace; if moving one failed, do not leave it there. */
  /** `hostIp`: how to run `ip` in the host namespace (`['ip']`, or `['ip', '-n', NS]`). */
  async createVxlans(hostIp: string[], commands: string[]): Promise<void> {
    try {
      await this.batch([...hostIp, '-batch', '-'], commands);
    } catch (err) {
      const born = commands.map((c) => /^link add (\S+) type vxlan/.exec(c)?.[1]).filter((n): n is string => !!n);
      for (const name of born) await this.runner.run([...hostIp, 'link', 'del', name], { allowFail: true });
      throw err;
    }
  }

  /** Creates one port; on failure removes whatever half of it exists and explains why. */
  async createPort(ns: string, port: PortSteps): Promise<TenetError | undefined> {
    const { netns, ifname, endpointId } = port.plan;
    if (!(await exists(netns))) {
      return new TenetError('NETNS_NOT_FOUND', `network namespace ${netns} does not exist`, 'give the path of a live namespace (/run/netns/NAME or /proc/PID/ns/net)');
    }
    try {
      await this.batch(['ip', '-n', ns, '-batch', '-'], port.tenant);
      await this.batch(['nsenter', `--net=${netns}`, 'ip', '-batch', '-'], port.workload);
      return undefined;
    } catch (err) {
      await this.runner.run(['ip', '-n', ns, 'link', 'del', port.plan.port], { allowFail: true });
      const detail = err instanceof CommandError ? err.result.stderr.trim() : String(err);
      this.logger.warn({ endpoint: endpointId, ns, detail }, 'port creation failed, rolled back');
      if (/File exists/.test(detail)) {
        return new TenetError('IFNAME_IN_USE', `namespace ${netns} already has an interface named ${ifname}`, 'choose another name with --ifname');
      }
      return new TenetError('DATAPATH_FAILED', `could not create the interface of endpoint ${endpointId}: ${detail.split('\n')[0]}`, 'see the agent log');
    }
  }

  /** Best effort: the workload namespace is the user's and may be gone. */
  async fixWorkload(netns: string, commands: string[]): Promise<void> {
    const r = await this.runner.run(['nsenter', `--net=${netns}`, 'ip', '-batch', '-'], { input: commands.join('\n') + '\n', allowFail: true });
    if (r.code !== 0) this.logger.warn({ netns, detail: r.stderr.trim() }, 'could not update a workload interface');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
