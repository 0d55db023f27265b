/**
 * Datapath.set(plan): make this host's kernel look like the plan, and nothing more.
 *
 * Design history: a first sketch flushed and rebuilt a tenant namespace on every change;
 * that drops packets on every agent restart. Now each call reads the kernel back
 * (observe.ts), computes the difference (diff.ts) and applies only that, batched (one
 * process per namespace and tool). Calling set() again with the same plan runs no command
 * that changes anything, so an agent restart is invisible to traffic.
 *
 * Failures of one port (the workload namespace is the user's: it may be gone, or already
 * have the interface name) are reported per endpoint and rolled back; they never stop the
 * rest of the tenant from converging.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { diffTenant, isNoop, type PortSteps, type TenantSteps } from './diff.js';
import { listNamespaces, observeTenant } from './observe.js';
import type { HostPlan, TenantPlan } from './plan.js';
import { CommandError, type CommandRunner } from './runner.js';

export interface SetResult {
  /** Endpoint id → why its port could not be created. */
  failedPorts: Map<string, TenetError>;
  /** Namespaces in which something was changed. */
  changed: string[];
}

const TENANT_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
  'net.bridge.bridge-nf-call-iptables=0',
  'net.bridge.bridge-nf-call-ip6tables=0',
  'net.bridge.bridge-nf-call-arptables=0',
];

export class Datapath {
  /**
   * `hostNs`: the namespace holding the underlay, when it is not the agent's own (tests drive
   * several simulated hosts from one process). `listNamespaces`: a stand-in for /run/netns.
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
    private readonly opts: { hostNs?: string; listNamespaces?: () => Promise<string[]> } = {},
  ) {}

  /**
   * Converges the namespaces of `plan`. With `onlyTenants`, only those tenants are looked at
   * (an attach touches one tenant); without it, Tenet namespaces absent from the plan go too.
   */
  async set(plan: HostPlan, onlyTenants?: Set<string>): Promise<SetResult> {
    if (!/^[a-z0-9][a-z0-9-]*-$/.test(plan.nsPrefix)) throw new Error(`unsafe namespace prefix ${JSON.stringify(plan.nsPrefix)}`);
    const existing = new Set(await (this.opts.listNamespaces ?? listNamespaces)());
    const result: SetResult = { failedPorts: new Map(), changed: [] };
    const targets = plan.tenants.filter((t) => !onlyTenants || onlyTenants.has(t.tenant));
    for (const tenant of targets) await this.converge(tenant.ns, tenant, existing.has(tenant.ns), result);
    if (!onlyTenants) {
      const wanted = new Set(plan.tenants.map((t) => t.ns));
      const stale = [...existing].filter((ns) => ns.startsWith(plan.nsPrefix) && !wanted.has(ns));
      for (const ns of stale) await this.converge(ns, undefined, true, result);
    }
    return result;
  }

  private async converge(ns: string, plan: TenantPlan | undefined, exists: boolean, result: SetResult): Promise<void> {
    const state = await observeTenant(this.runner, ns, exists);
    const steps = diffTenant(ns, plan, state);
    if (isNoop(steps)) return;
    result.changed.push(ns);
    this.logger.info({ ns, steps: summarize(steps) }, plan ? 'converging tenant namespace' : 'removing tenant namespace');
    await this.apply(steps, result);
  }

  private async apply(s: TenantSteps, result: SetResult): Promise<void> {
    if (s.deleteNs) {
      await this.runner.run(['ip', 'netns', 'del', s.ns]);
      return;
    }
    if (s.createNs) await this.createNamespace(s.ns);
    await this.batch(['ip', '-n', s.ns, '-batch', '-'], s.cleanup);
    await this.batch(this.opts.hostNs ? ['ip', '-n', this.opts.hostNs, '-batch', '-'] : ['ip', '-batch', '-'], s.host);
    await this.batch(['ip', '-n', s.ns, '-batch', '-'], s.tenant);
    await this.batch(['bridge', '-n', s.ns, '-batch', '-'], s.bridge);
    if (s.nft) await this.runner.run(['ip', 'netns', 'exec', s.ns, 'nft', '-f', '-'], { input: s.nft });
    for (const port of s.newPorts) {
      const err = await this.createPort(s.ns, port);
      if (err) result.failedPorts.set(port.plan.endpointId, err);
    }
  }

  private async createNamespace(ns: string): Promise<void> {
    await this.runner.run(['ip', 'netns', 'add', ns]);
    await this.runner.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await this.runner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...TENANT_SYSCTLS]);
  }

  /** Creates one port; on failure removes whatever half of it exists and explains why. */
  private async createPort(ns: string, port: PortSteps): Promise<TenetError | undefined> {
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

  private async batch(argv: string[], commands: string[]): Promise<void> {
    if (commands.length === 0) return;
    await this.runner.run(argv, { input: commands.join('\n') + '\n' });
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

function summarize(s: TenantSteps): Record<string, number | boolean> {
  return {
    createNs: s.createNs,
    deleteNs: s.deleteNs,
    cleanup: s.cleanup.length,
    host: s.host.length,
    tenant: s.tenant.length,
    fdb: s.bridge.length,
    nft: !!s.nft,
    newPorts: s.newPorts.length,
  };
}
