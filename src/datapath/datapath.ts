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
 *
 * Issue #5: only namespaces Tenet marked as its own (ownership.ts, ADR 007) are removed or
 * built in, and a plan value that is not a plain token never reaches a command (plan-check.ts).
 */
import type { Logger } from '../base/logger.js';
import { BridgeIndexes } from './bridge-index.js';
import { isTenetError, TenetError } from '../model/errors.js';
import { diffTenant, isNoop, touchesRules, type TenantSteps } from './diff.js';
import { createHandoffPort, fixHandoffHost, sweepHostHandoffs } from './handoff.js';
import { KernelOps } from './kernel-ops.js';
import type { NamespaceIdentity } from './ns-identity.js';
import { listNamespaces, observeTenant } from './observe.js';
import { MarkerOwnership, type NamespaceOwnership } from './ownership.js';
import { checkTenantPlan } from './plan-check.js';
import { dropDenied } from './conntrack.js';
import { knownState } from './fastpath.js';
import { knownRules } from './nft.js';
import type { FlowPredicate, HostPlan, TenantPlan } from './plan.js';
import { applyWorkloadDrift, holdPorts, observeWorkloads, type WorkloadState } from './workload.js';
import type { CommandRunner } from './runner.js';
import { WorkloadEpochs, type WorkloadReads } from './workload-reads.js';

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
  private readonly ownership: NamespaceOwnership;
  /** Tenant namespace → the plan this Datapath last converged it to, with no failure. */
  private readonly converged = new Map<string, TenantPlan>();
  /** Namespaces whose ownership was checked (a full set() checks again). */
  private readonly verified = new Set<string>();
  /** Namespaces whose last cut of denied flows failed: the next policy change cuts, whatever it is. */
  private readonly uncut = new Set<string>();
  /** The bridges' ifindexes, which make a port in one process (bridge-index.ts). */
  private readonly bridges: BridgeIndexes;
  /** Which workload namespaces each set() changed, to judge reads taken outside it (workload-reads.ts). */
  private readonly workloads = new WorkloadEpochs();

  /**
   * `hostNs`: the namespace holding the underlay, when it is not the agent's own (tests drive
   * several simulated hosts from one process). `listNamespaces`: a stand-in for /run/netns.
   * `ownership`: where the marks of Tenet's namespaces live (ownership.ts).
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
    private readonly opts: { hostNs?: string; listNamespaces?: () => Promise<string[]>; ownership?: NamespaceOwnership } = {},
  ) {
    this.ownership = opts.ownership ?? new MarkerOwnership();
    this.ops = new KernelOps(runner, logger, this.ownership);
    this.bridges = new BridgeIndexes(runner);
  }

  /**
   * The next targeted set() of this tenant namespace reads the kernel back instead of trusting
   * the plan it converged to: a handoff pair can vanish with a runtime's sandbox, which no
   * plan change announces (handoff.ts). A handoff attach calls this first, with its endpoint:
   * only a plan that already holds a port of that endpoint (a Join again for an endpoint still
   * attached, whose pair may have gone with its old sandbox) is distrusted. A fresh Join, the
   * usual one (Docker makes an endpoint per container start), has no port the plan knows: its
   * pair is made as new either way, so it keeps the fast path (docs/benchmarks.md, Docker),
   * and drift elsewhere in the tenant is the full reconcile's to repair, as for netns ports.
   */
  readBackNext(ns: string, endpointId?: string): void {
    const known = this.converged.get(ns);
    if (endpointId === undefined || known?.ports.some((p) => p.endpointId === endpointId)) this.converged.delete(ns);
  }

  /**
   * Reads workload namespaces for a later full set() (`reads`), a few at a time, without
   * holding up the calls that run meanwhile: set() keeps only what no call changed since.
   */
  readWorkloads(paths: Iterable<string>, before?: () => Promise<unknown>): Promise<WorkloadReads> {
    return this.workloads.read(this.runner, paths, before);
  }

  /** Identities of the namespaces Tenet made: nothing may be attached into them. */
  ownedIdentities(): Promise<NamespaceIdentity[]> {
    return this.ownership.ownedIdentities();
  }

  /**
   * Converges the namespaces of `plan`. With `onlyTenants`, only those tenants are looked at
   * (an attach or detach touches one tenant); without it, every Tenet namespace is.
   * `held`: endpoint id → why its workload namespace must not be entered (workload.ts holdPorts).
   * `reads` (a full set only): workload namespaces readWorkloads() read beforehand, instead of
   * reading them here; one it does not hold, or that a call changed since, counts as not read
   * (not repaired this time: the next full set looks again).
   */
  async set(plan: HostPlan, onlyTenants?: Set<string>, held: ReadonlyMap<string, string> = new Map(), reads?: WorkloadReads): Promise<SetResult> {
    if (!/^[a-z0-9][a-z0-9-]*-$/.test(plan.nsPrefix)) throw new Error(`unsafe namespace prefix ${JSON.stringify(plan.nsPrefix)}`);
    this.workloads.begin();
    const result: SetResult = { failedPorts: new Map(), failedNamespaces: new Map(), changed: [] };
    if (!onlyTenants) this.verified.clear();
    const existing = new Set(await (this.opts.listNamespaces ?? listNamespaces)());
    const inScope = (tenant: string) => !onlyTenants || onlyTenants.has(tenant);
    const targets = safeTargets(plan.tenants.filter((t) => inScope(t.tenant)), result);
    const wanted = new Set(plan.tenants.map((t) => t.ns));
    const stale = [...existing].filter((ns) => ns.startsWith(plan.nsPrefix) && !wanted.has(ns) && inScope(ns.slice(plan.nsPrefix.length)));

    for (const ns of stale) {
      this.converged.delete(ns);
      this.bridges.forget(ns);
      await this.guard(ns, result, async () => {
        if (!(await this.isOurs(ns))) return;
        this.logger.info({ ns }, 'removing tenant namespace');
        await this.ops.removeNamespace(ns);
        this.verified.delete(ns);
        result.changed.push(ns);
      });
    }
    const pending: TenantSteps[] = [];
    for (const tenant of targets) {
      await this.guard(tenant.ns, result, async () => {
        if (existing.has(tenant.ns) && !(await this.isOurs(tenant.ns))) throw notOurs(tenant.ns);
        const steps = await this.cleanUp(tenant, existing.has(tenant.ns), onlyTenants !== undefined, held, result, reads);
        if (steps) pending.push(steps);
      });
    }
    for (const steps of pending) await this.guard(steps.ns, result, () => this.build(steps, result));
    if (!onlyTenants) await this.sweepHandoffs(plan, targets);
    this.remember(targets, result);
    return result;
  }

  /**
   * Full set() only: `tnh*` interfaces of planned ports waiting in the agent's namespace get
   * their MAC and MTU back; others are left alone (handoff.ts). Runs after the tenants' cleanup,
   * which already took the host side of every stale pair along with its tenant side. A failure
   * is logged and retried next time.
   */
  private async sweepHandoffs(plan: HostPlan, targets: TenantPlan[]): Promise<void> {
    const checked = new Set(targets.map((t) => t.ns));
    const leftAlone = new Set(plan.tenants.filter((t) => !checked.has(t.ns)).flatMap((t) => t.ports.map((p) => String(p.handoff))));
    try {
      const commands = await sweepHostHandoffs(this.ops, this.runner, this.hostIp(), targets.flatMap((t) => t.ports), leftAlone);
      if (commands.length) this.logger.info({ commands }, 'reconciled handoff interfaces in the agent namespace');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not reconcile handoff interfaces in the agent namespace; will retry');
    }
  }

  /** How to run `ip` in the namespace holding the underlay (`['ip']`, or `['ip', '-n', NS]`). */
  private hostIp(): string[] {
    return this.opts.hostNs ? ['ip', '-n', this.opts.hostNs] : ['ip'];
  }

  /**
   * Plans a tenant's steps and runs their cleanup (deletions). When the plan came from the
   * known state (fastpath.ts) and the kernel refuses it, the kernel is not what the fast path
   * assumed: something changed behind Tenet's back (a workload namespace that went away took
   * its veth with it). The tenant is then read back and planned again, once, instead of
   * failing the attach that happened to come next.
   */
  private async cleanUp(tenant: TenantPlan, exists: boolean, targeted: boolean, held: ReadonlyMap<string, string>, result: SetResult, reads?: WorkloadReads): Promise<TenantSteps | undefined> {
    const fast = targeted && exists && this.converged.has(tenant.ns);
    let steps = await this.stepsFor(tenant, exists, targeted, held, result, reads);
    if (isNoop(steps)) return undefined;
    try {
      await this.runCleanup(steps);
    } catch (err) {
      if (!fast) throw err;
      this.logger.warn({ ns: tenant.ns, err: (err as Error).message }, 'the kernel was not as last converged; reading the tenant namespace back and trying again');
      this.converged.delete(tenant.ns);
      steps = await this.stepsFor(tenant, exists, targeted, held, result);
      if (isNoop(steps)) return undefined;
      await this.runCleanup(steps);
    }
    result.changed.push(tenant.ns);
    return steps;
  }

  /**
   * The deletions, and with them an in-place change of the pinning elements (diff.ts
   * nftInPlace), which then leaves the build; both are awaited before either error is thrown.
   * Elements that only add, with nothing to delete and a port to make (an attach), stay in
   * the build instead, loaded while the port is made (build): an ADD pays one round of
   * processes, the element beside the port's one process (port-create.ts; docs/benchmarks.md, CNI). Safe either way: the pinning set drops
   * a port's frames until its element is in (nft.ts), and a port's name is only a string to
   * nft. A failed add there fails the attach, which is rolled back (ADR 008) and reads the
   * tenant back next; deletions keep the cleanup's read-back-and-retry.
   */
  private async runCleanup(steps: TenantSteps): Promise<void> {
    this.logger.info({ ns: steps.ns, steps: summarize(steps) }, 'converging tenant namespace');
    const withPorts = !steps.cleanup.length && steps.newPorts.length > 0 && !/^delete /m.test(steps.nft ?? '');
    const elements = steps.nftInPlace && !steps.createNs && !withPorts ? steps.nft : undefined;
    const outcomes = await Promise.allSettled([
      this.ops.batch(['ip', '-n', steps.ns, '-batch', '-'], steps.cleanup),
      elements === undefined ? undefined : this.ops.nft(steps.ns, elements),
    ]);
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    if (elements !== undefined) steps.nft = undefined;
  }

  /**
   * Whether a namespace under Tenet's prefix is Tenet's: marked (ownership.ts), nothing
   * else. Content is no proof: a user may well name links tnv… in a namespace tenet-x
   * (test/e2e/ownership.test.ts), and a namespace is never deleted on a guess. Namespaces of
   * a Tenet from before the marks are left alone (docs/adr/007-namespace-identity.md).
   */
  private async isOurs(ns: string): Promise<boolean> {
    if (this.verified.has(ns)) return true;
    const ours = await this.ownership.owns(ns);
    if (ours) this.verified.add(ns);
    else this.logger.warn({ ns }, "leaving alone a namespace with Tenet's prefix that Tenet did not make (or made before it marked its namespaces)");
    return ours;
  }

  /**
   * A targeted call may diff against the known state (fastpath.ts) and reads no workload; a
   * full set() reads the tenant namespace and, in parallel, every workload namespace of its
   * ports (workload.ts; or takes what readWorkloads read before it), and repairs their drift too.
   */
  private async stepsFor(tenant: TenantPlan, exists: boolean, targeted: boolean, held: ReadonlyMap<string, string>, result: SetResult, reads?: WorkloadReads): Promise<TenantSteps> {
    for (const p of tenant.ports) {
      const why = held.get(p.endpointId);
      if (why) result.failedPorts.set(p.endpointId, new TenetError('DATAPATH_FAILED', `endpoint ${p.endpointId}: ${why}`, 'make the namespace readable to the agent, or detach the endpoint'));
    }
    const prev = this.converged.get(tenant.ns);
    const known = targeted && exists && prev !== undefined;
    const steps = known ? diffTenant(tenant.ns, tenant, { ...knownState(prev), ...knownRules(prev) }) : await this.readAndDiff(tenant, exists, targeted, held, result, reads);
    // The kernel holds prev's policy (known state), and this one denies nothing it allowed.
    if (known && tenant.loosens !== undefined && tenant.loosens === prev.policy?.hash && !this.uncut.has(tenant.ns)) delete steps.recheckFlows;
    holdPorts(steps, tenant, held);
    this.workloads.touch([...steps.newPorts.map((p) => p.plan.netns), ...steps.workloadFixes.map((f) => f.plan.netns)]);
    this.bridges.forgetRemade(steps);
    return steps;
  }

  private async readAndDiff(tenant: TenantPlan, exists: boolean, targeted: boolean, held: ReadonlyMap<string, string>, result: SetResult, reads?: WorkloadReads): Promise<TenantSteps> {
    // A handoff port's workload end is wherever its runtime moved it: nothing to read (handoff.ts).
    const readable = tenant.ports.filter((p) => p.handoff === undefined && !held.has(p.endpointId)).map((p) => p.netns);
    const wanted = !targeted && exists && readable.length > 0;
    const [state, workloads] = await Promise.all([
      observeTenant(this.runner, tenant.ns, exists),
      !wanted ? new Map<string, WorkloadState | Error>() : reads ? this.workloads.fresh(reads, readable) : observeWorkloads(this.runner, readable),
    ]);
    this.bridges.learn(tenant.ns, state.bridgeIndexes);
    const steps = diffTenant(tenant.ns, tenant, state);
    for (const [id, why] of applyWorkloadDrift(steps, tenant, state, workloads)) {
      if (held.has(id)) continue;
      this.logger.warn({ endpoint: id, why }, 'workload side drifted and cannot be repaired');
      result.failedPorts.set(id, new TenetError('DATAPATH_FAILED', `endpoint ${id}: ${why}`, 'restore the interface or detach the endpoint and attach it again'));
    }
    return steps;
  }

  private remember(targets: TenantPlan[], result: SetResult): void {
    const failed = new Set(result.failedPorts.keys());
    for (const t of targets) {
      const clean = !result.failedNamespaces.has(t.ns) && !t.ports.some((p) => failed.has(p.endpointId));
      if (clean) this.converged.set(t.ns, t);
      else {
        this.converged.delete(t.ns);
        this.bridges.forget(t.ns);
      }
    }
  }

  private async build(s: TenantSteps, result: SetResult): Promise<void> {
    if (s.createNs) {
      await this.ops.createNamespace(s.ns);
      this.verified.add(s.ns);
    }
    await this.ops.createVxlans(this.hostIp(), s.host);
    await this.ops.batch(['ip', '-n', s.ns, '-batch', '-'], s.tenant);
    await this.ops.batch(['bridge', '-n', s.ns, '-batch', '-'], s.bridge);
    // The rulesets name ports only as strings, so they load while the ports are made: an
    // attach pays for one of the two processes, not both.
    const rules = touchesRules(s) ? this.loadRules(s) : undefined;
    const ports = this.buildPorts(s, result);
    for (const outcome of await Promise.allSettled([rules, ports])) if (outcome.status === 'rejected') throw outcome.reason;
    await this.ops.rates(s.ns, s.rates.filter((r) => !result.failedPorts.has(r.plan.endpointId)));
  }

  /** A bridge's br_netfilter goes off before the ruleset loads, and on after it (diff.ts). */
  private async loadRules(s: TenantSteps): Promise<void> {
    if (s.trackOff.length) await this.ops.bridgeTracking(s.ns, s.trackOff, false);
    if (s.nft) await this.ops.nft(s.ns, s.nft);
    if (s.trackOn.length) await this.ops.bridgeTracking(s.ns, s.trackOn, true);
    if (s.brnfSysctlOff) await this.ops.bridgeNetfilterSysctlOff(s.ns);
    if (s.recheckFlows) await this.cutDenied(s.ns, s.recheckFlows);
  }

  /** After a policy change: established flows it now denies stop (conntrack.ts); a failure is logged, the next change retries. */
  private async cutDenied(ns: string, denies: FlowPredicate): Promise<void> {
    try {
      const cut = await dropDenied(this.runner, ns, denies);
      this.uncut.delete(ns);
      if (cut.length) this.logger.info({ ns, flows: cut.length }, 'cut established flows the policy now denies');
    } catch (err) {
      this.uncut.add(ns);
      this.logger.warn({ ns, err: (err as Error).message }, 'could not cut established flows the policy now denies');
    }
  }

  private async buildPorts(s: TenantSteps, result: SetResult): Promise<void> {
    for (const fix of s.workloadFixes) {
      if (fix.plan.handoff !== undefined) {
        await fixHandoffHost(this.runner, this.logger, this.hostIp(), fix.commands);
        continue;
      }
      const refused = await this.ops.fixWorkload(fix.plan.netns, fix.commands);
      const id = fix.plan.endpointId;
      if (refused) result.failedPorts.set(id, new TenetError('DATAPATH_FAILED', `endpoint ${id}: could not repair ${fix.plan.ifname} in ${fix.plan.netns}: ${refused}`, 'see the agent log'));
    }
    const indexes = s.newPorts.length ? await this.bridges.of(s.ns, s.newPorts.map((p) => p.plan.bridge)) : new Map<string, number>();
    for (const port of s.newPorts) {
      const index = indexes.get(port.plan.bridge);
      const err = index === undefined
        ? new TenetError('DATAPATH_FAILED', `could not create the interface of endpoint ${port.plan.endpointId}: bridge ${port.plan.bridge} is not in ${s.ns}`, 'see the agent log')
        : port.plan.handoff !== undefined
          ? await createHandoffPort(this.ops, this.runner, this.logger, this.hostIp(), s.ns, port, index)
          : await this.ops.createPort(s.ns, port, index);
      if (err) result.failedPorts.set(port.plan.endpointId, err);
    }
  }

  private async guard(ns: string, result: SetResult, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const detail = (err as Error).message;
      this.logger.error({ ns, err: detail }, 'could not converge tenant namespace; will retry');
      const failure = isTenetError(err) ? err : new TenetError('DATAPATH_FAILED', `the kernel refused a change in ${ns}: ${detail}`, 'see the agent log');
      result.failedNamespaces.set(ns, failure);
    }
  }
}

/** The tenants' plans without the values plan-check.ts refuses; each refusal is reported. */
function safeTargets(tenants: TenantPlan[], result: SetResult): TenantPlan[] {
  const out: TenantPlan[] = [];
  for (const checked of tenants.map(checkTenantPlan)) {
    for (const [id, why] of checked.badPorts) {
      result.failedPorts.set(id, new TenetError('BAD_REQUEST', `endpoint ${id} cannot be realized: ${why}`, 'detach it and attach again with valid values'));
    }
    if (checked.problem === undefined) out.push(checked.plan);
    else result.failedNamespaces.set(checked.plan.ns, new TenetError('DATAPATH_FAILED', `tenant namespace ${checked.plan.ns} left alone: ${checked.problem}`, 'this is a bug; see the agent log'));
  }
  return out;
}

function notOurs(ns: string): TenetError {
  return new TenetError('DATAPATH_FAILED', `namespace ${ns} exists but Tenet did not make it`, 'rename or remove it (ip netns del), or give the agent another --ns-prefix');
}

function summarize(s: TenantSteps): Record<string, number | boolean> {
  return {
    createNs: s.createNs,
    cleanup: s.cleanup.length,
    host: s.host.length,
    tenant: s.tenant.length,
    fdb: s.bridge.length,
    nft: !!s.nft,
    tracking: s.trackOn.length + s.trackOff.length,
    newPorts: s.newPorts.length,
    workloadFixes: s.workloadFixes.length,
    rates: s.rates.length,
  };
}
