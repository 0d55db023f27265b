/**
 * The kernel operations Datapath.set() is made of, each all-or-nothing where the kernel
 * lets it be: a namespace is created with its settings or not at all; a namespace is
 * emptied synchronously before it is deleted; a port is created whole or rolled back.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { PortSteps } from './diff.js';
import { vethIntoTenant } from './port-create.js';
import type { RateSteps } from './tc.js';
import { isOurs } from './names.js';
import { NETNS_DIR, parseLinks } from './observe.js';
import type { NamespaceOwnership } from './ownership.js';
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
    private readonly ownership: NamespaceOwnership,
  ) {}

  /** One line per command; a line that could split into two is a bug and runs nothing. */
  async batch(argv: string[], commands: string[]): Promise<void> {
    if (commands.length === 0) return;
    for (const c of commands) assertOneLine(c);
    await this.runner.run(argv, { input: commands.join('\n') + '\n' });
  }

  /** `nft -f -` inside a tenant namespace; newlines separate statements, nothing else may hide there. */
  async nft(ns: string, script: string): Promise<void> {
    for (const line of script.split('\n')) assertOneLine(line);
    await this.runner.run(['nsenter', `--net=${NETNS_DIR}/${ns}`, 'nft', '-f', '-'], { input: script });
  }

  /** Bridged IPv4 of these bridges through the inet hooks (and conntrack) of the tenant namespace, or not (docs/adr/013). */
  async bridgeTracking(ns: string, bridges: string[], on: boolean): Promise<void> {
    await this.batch(['ip', '-n', ns, '-batch', '-'], bridges.map((b) => `link set ${b} type bridge nf_call_iptables ${on ? 1 : 0}`));
  }

  /** Off, the namespace-wide switch an older Tenet turned on with a policy (docs/adr/013). */
  async bridgeNetfilterSysctlOff(ns: string): Promise<void> {
    await this.runner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
  }

  /**
   * Rate limits of several ports (tc.ts), four processes at most whatever their number: what
   * may be there is removed (failures ignored: nothing was there), the ifb devices made, the
   * qdiscs and filters added, and only then the ports' aliases record what was applied.
   */
  async rates(ns: string, steps: RateSteps[]): Promise<void> {
    if (!steps.length) return;
    const all = (f: (r: RateSteps) => string[]) => steps.flatMap(f);
    const clear = all((r) => r.clear);
    if (clear.length) {
      clear.forEach(assertOneLine);
      await this.runner.run(['tc', '-n', ns, '-force', '-batch', '-'], { input: clear.join('\n') + '\n', allowFail: true });
    }
    await this.batch(['ip', '-n', ns, '-batch', '-'], all((r) => r.ip));
    await this.batch(['tc', '-n', ns, '-batch', '-'], all((r) => r.tc));
    await this.batch(['ip', '-n', ns, '-batch', '-'], all((r) => r.record));
  }

  /**
   * Marked as Tenet's (ownership.ts) before and after it is made. A half-made namespace
   * (its sysctls failed) would never be fixed later: remove it.
   */
  async createNamespace(ns: string): Promise<void> {
    await this.ownership.intend(ns);
    try {
      await this.runner.run(['ip', 'netns', 'add', ns]);
    } catch (err) {
      await this.ownership.forget(ns);
      throw err;
    }
    try {
      await this.runner.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await this.runner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...TENANT_SYSCTLS]);
      await this.ownership.mark(ns);
    } catch (err) {
      await this.runner.run(['ip', 'netns', 'del', ns], { allowFail: true });
      await this.ownership.forget(ns);
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
    await this.ownership.forget(ns);
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

  /**
   * Creates one port in one process inside its workload namespace (port-create.ts): the pair,
   * its tenant side on the bridge of index `bridgeIndex`, then the workload end's address and
   * route. On failure removes whatever of it exists (the tenant side takes the workload end
   * with it) and explains why.
   */
  async createPort(ns: string, port: PortSteps, bridgeIndex: number): Promise<TenetError | undefined> {
    const { netns, ifname, endpointId } = port.plan;
    if (!(await exists(netns))) {
      return new TenetError('NETNS_NOT_FOUND', `network namespace ${netns} does not exist`, 'give the path of a live namespace (/run/netns/NAME or /proc/PID/ns/net)');
    }
    try {
      await this.batch(['nsenter', `--net=${netns}`, 'ip', '-batch', '-'], [vethIntoTenant(ns, port.plan, ifname, bridgeIndex), ...port.workload]);
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

  /** The workload namespace is the user's and may refuse: returns why, for the endpoint's status. */
  async fixWorkload(netns: string, commands: string[]): Promise<string | undefined> {
    for (const c of commands) assertOneLine(c);
    const r = await this.runner.run(['nsenter', `--net=${netns}`, 'ip', '-batch', '-'], { input: commands.join('\n') + '\n', allowFail: true });
    if (r.code === 0) return undefined;
    this.logger.warn({ netns, detail: r.stderr.trim() }, 'could not update a workload interface');
    return r.stderr.trim().split('\n')[0] || `exit ${r.code}`;
  }
}

/** Thrown before anything runs: a caller's string reached a command unchecked, which is a bug. */
export class UnsafeCommandError extends Error {
  constructor(line: string) {
    super(`refusing to run a kernel command with a control character (a bug; the plan should have refused it): ${JSON.stringify(line.slice(0, 120))}`);
    this.name = 'UnsafeCommandError';
  }
}

function assertOneLine(line: string): void {
  if (/[\u0000-\u001f\u007f]/.test(line)) throw new UnsafeCommandError(line);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
