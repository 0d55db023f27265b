/**
 * Datapath.set(plan): make this host's kernel look like the plan, and nothing more.
 *
 * Design history: a first sketch flushed and rebuilt a tenant namespace on every change;
 * that drops packets on every agent restart. Now each call reads the kernel back
 * (observe.ts), computes the difference (diff.ts) and applies only that, batched (one
 * process per namespace and tool). Calling set() again with the same plan runs no command
 * that changes anything, so an agent restart is invisible to traffic.
 *
 * Phases, because tenants share the host: VNIs are unique per host namespace (where VXLAN
 * devices are born) and a workload's interface name may pass from one tenant's endpoint
 * to another's. So (1) stale namespaces are emptied and removed, (2) every tenant's stale
 * links are deleted, and only then (3) anything is created. A failure in one tenant is
 * reported and does not stop the others; a failed port is rolled back and reported per
 * endpoint (the workload namespace is the user's: it may be gone or hold the name).
 */
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { diffTenant, isNoop, type TenantSteps } from './diff.js';
import { KernelOps } from './kernel-ops.js';
import { listNamespaces, NETNS_DIR, observeTenant } from './observe.js';
import { knownState } from './fastpath.js';
import type { HostPlan, TenantPlan } from './plan.js';
import type { CommandRunner } from './runner.js';

export interface SetResult {
  /** Endpoint id → why its port could not be created. */
  failedPorts: Map<string, TenetError>;
  /** Tenant namespace → why it could not be converged (it is retried on the next set). */
  failedNamespaces: Map<string, TenetError>;
  /** Namespaces in which something was changed. */
  changed: string[];
}

export class Datapath {
  private readonly ops: KernelOps;
  /** Tenant namespace → the plan this Datapath last converged it to, with no failure. */
  private readonly converged = new Map<string, TenantPlan>();

  /**
   * `hostNs`: the namespace holding the underlay, when it is not the agent's own (tests drive
   * several simulated hosts from one process). `listNamespaces`: a stand-in for /run/netns.
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
    private readonly opts: { hostNs?: string; listNamespaces?: () => Promise<string[]> } = {},
  ) {
    this.ops = new KernelOps(runner, logger);
  }

  /**
   * Converges the namespaces of `plan`. With `onlyTenants`, only those tenants are looked at
   * (an attach or detach touches one tenant); without it, every Tenet namespace is.
   */
  async set(plan: HostPlan, onlyTenants?: Set<string>): Promise<SetResult> {
    if (!/^[a-z0-9][a-z0-9-]*-$/.test(plan.nsPrefix)) throw new Error(`unsafe namespace prefix ${JSON.stringify(plan.nsPrefix)}`);
    const result: SetResult = { failedPorts: new Map(), failedNamespaces: new Map(), changed: [] };
    const existing = new Set(await (this.opts.listNamespaces ?? listNamespaces)());
    const inScope = (tenant: string) => !onlyTenants || onlyTenants.has(tenant);
    const targets = plan.tenants.filter((t) => inScope(t.tenant));
    const wanted = new Set(plan.tenants.map((t) => t.ns));
    const stale = [...existing].filter((ns) => ns.startsWith(plan.nsPrefix) && !wanted.has(ns) && inScope(ns.slice(plan.nsPrefix.length)));

    for (const ns of stale) {
      this.converged.delete(ns);
      await this.guard(ns, result, async () => {
        this.logger.info({ ns }, 'removing tenant namespace');
        await this.ops.removeNamespace(ns);
        result.changed.push(ns);
      });
    }
    const pending: TenantSteps[] = [];
    for (const tenant of targets) {
      await this.guard(tenant.ns, result, async () => {
        const steps = await this.stepsFor(tenant, existing.has(tenant.ns), onlyTenants !== undefined);
        if (isNoop(steps)) return;
        result.changed.push(tenant.ns);
        this.logger.info({ ns: tenant.ns, steps: summarize(steps) }, 'converging tenant namespace');
        await this.ops.batch(['ip', '-n', tenant.ns, '-batch', '-'], steps.cleanup);
        pending.push(steps);
      });
    }
    for (const steps of pending) await this.guard(steps.ns, result, () => this.build(steps, result));
    this.remember(targets, result);
    return result;
  }

  /** A targeted call may diff against the known state (fastpath.ts); a full set() always reads the kernel. */
  private async stepsFor(tenant: TenantPlan, exists: boolean, targeted: boolean): Promise<TenantSteps> {
    const prev = this.converged.get(tenant.ns);
    const state = targeted && exists && prev ? knownState(prev) : await observeTenant(this.runner, tenant.ns, exists);
    return diffTenant(tenant.ns, tenant, state);
  }

  private remember(targets: TenantPlan[], result: SetResult): void {
    const failed = new Set(result.failedPorts.keys());
    for (const t of targets) {
      const clean = !result.failedNamespaces.has(t.ns) && !t.ports.some((p) => failed.has(p.endpointId));
      if (clean) this.converged.set(t.ns, t);
      else this.converged.delete(t.ns);
    }
  }

  private async build(s: TenantSteps, result: SetResult): Promise<void> {
    if (s.createNs) await this.ops.createNamespace(s.ns);
    const hostIp = this.opts.hostNs ? ['ip', '-n', this.opts.hostNs] : ['ip'];
    await this.ops.createVxlans(hostIp, s.host);
    await this.ops.batch(['ip', '-n', s.ns, '-batch', '-'], s.tenant);
    await this.ops.batch(['bridge', '-n', s.ns, '-batch', '-'], s.bridge);
    // The rulesets name ports only as strings, so they load while the ports are made: an
    // attach pays for one of the two processes, not both.
    const rules = s.nft ? this.runner.run(['nsenter', `--net=${NETNS_DIR}/${s.ns}`, 'nft', '-f', '-'], { input: s.nft }) : undefined;
    const ports = this.buildPorts(s, result);
    for (const outcome of await Promise.allSettled([rules, ports])) if (outcome.status === 'rejected') throw outcome.reason;
  }

  private async buildPorts(s: TenantSteps, result: SetResult): Promise<void> {
    for (const fix of s.workloadFixes) await this.ops.fixWorkload(fix.plan.netns, fix.commands);
    for (const port of s.newPorts) {
      const err = await this.ops.createPort(s.ns, port);
      if (err) result.failedPorts.set(port.plan.endpointId, err);
    }
  }

  private async guard(ns: string, result: SetResult, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const detail = (err as Error).message;
      this.logger.error({ ns, err: detail }, 'could not converge tenant namespace; will retry');
      result.failedNamespaces.set(ns, new TenetError('DATAPATH_FAILED', `the kernel refused a change in ${ns}: ${detail}`, 'see the agent log'));
    }
  }
}

function summarize(s: TenantSteps): Record<string, number | boolean> {
  return {
    createNs: s.createNs,
    cleanup: s.cleanup.length,
    host: s.host.length,
    tenant: s.tenant.length,
    fdb: s.bridge.length,
    nft: !!s.nft,
    newPorts: s.newPorts.length,
    workloadFixes: s.workloadFixes.length,
  };
}
