/**
 * Published ports of this host's endpoints (ADR 015, ADR 016), the datapath-facing piece. The
 * desired state is each endpoint's `ports` field in the controller (written by `tenet ep
 * expose`, Docker's ProgramExternalConnectivity and CNI portMappings); the agent hands this
 * publisher its attached endpoints after every reconcile and the publisher realizes them
 * whole (datapath/port-map.ts): the transit veth pairs, the host's `ip tenet-nat` table and
 * each tenant namespace's `ip tenet-ports`. Nothing runs when they equal what it realized
 * last; the first call of a run always realizes, so an agent restart re-publishes exactly
 * the desired ports and drops whatever an earlier run left.
 */
import type { Logger } from '../base/logger.js';
import { clashes, portText } from '../model/ports.js';
import type { Endpoint, PublishedPort } from '../model/types.js';
import { dropTenantTable, isTransitHostIf, planPorts, type PortPlan, type PublishedEndpoint } from '../datapath/port-map.js';
import type { CommandRunner } from '../datapath/runner.js';

export interface PortHost {
  nsPrefix: string;
  /** The namespace holding the underlay when it is not the agent's own (tests). */
  hostNs?: string;
}

export class PortPublisher {
  /** What was realized last, as a comparable string; undefined: nothing yet in this run. */
  private applied?: string;
  private tenantsDone = new Set<string>();

  constructor(
    private readonly runner: CommandRunner,
    private readonly host: PortHost,
    private readonly logger: Logger,
  ) {}

  /**
   * Realizes the published ports of these endpoints (this host's, attached) and no others.
   * Callers serialize (the agent's queue). A failure is thrown and retried on the next call.
   */
  async realize(endpoints: Endpoint[]): Promise<void> {
    const wanted = published(endpoints, this.logger);
    const key = JSON.stringify(wanted);
    if (key === this.applied) return;
    const first = this.applied === undefined;
    this.applied = undefined;
    // A start with nothing to publish and no transit pair left over has nothing to undo.
    if (first && wanted.length === 0 && (await this.transitLinks()).size === 0) {
      this.applied = key;
      return;
    }
    await this.apply(planPorts(wanted, this.host.nsPrefix));
    this.applied = key;
    this.logger.info({ endpoints: wanted.length, ports: wanted.reduce((n, e) => n + e.ports.length, 0) }, 'published ports realized');
  }

  private async apply(plan: PortPlan): Promise<void> {
    const ip = this.ipCmd();
    const existing = await this.transitLinks();
    for (const l of plan.links) {
      if (existing.has(l.hostIf)) continue;
      await this.runner.run([...ip, 'link', 'add', l.hostIf, 'type', 'veth', 'peer', 'name', l.nsIf, 'netns', l.ns]);
      await this.runner.run([...ip, 'addr', 'add', `${l.hostAddr}/30`, 'dev', l.hostIf]);
      await this.runner.run([...ip, 'link', 'set', l.hostIf, 'up']);
      await this.runner.run(['ip', '-n', l.ns, 'addr', 'add', `${l.nsAddr}/30`, 'dev', l.nsIf]);
      await this.runner.run(['ip', '-n', l.ns, 'link', 'set', l.nsIf, 'up']);
    }
    if (plan.links.length) await this.runner.run([...this.inHost(), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await this.runner.run([...this.inHost(), 'nft', '-f', '-'], { input: plan.hostScript });
    for (const [ns, script] of plan.tenantScripts) await this.runner.run(['nsenter', `--net=/run/netns/${ns}`, 'nft', '-f', '-'], { input: script });
    const wanted = new Set(plan.links.map((l) => l.hostIf));
    for (const name of existing) if (!wanted.has(name)) await this.runner.run([...ip, 'link', 'del', name], { allowFail: true });
    for (const ns of this.tenantsDone) if (!plan.tenantScripts.has(ns)) await this.runner.run(['nsenter', `--net=/run/netns/${ns}`, 'nft', '-f', '-'], { input: dropTenantTable(), allowFail: true });
    this.tenantsDone = new Set(plan.tenantScripts.keys());
  }

  private inHost(): string[] {
    return this.host.hostNs ? ['nsenter', `--net=/run/netns/${this.host.hostNs}`] : [];
  }

  private ipCmd(): string[] {
    return this.host.hostNs ? ['ip', '-n', this.host.hostNs] : ['ip'];
  }

  private async transitLinks(): Promise<Set<string>> {
    const out = (await this.runner.run([...this.ipCmd(), '-o', 'link', 'show'])).stdout;
    return new Set([...out.matchAll(/^\d+: ([^:@]+)[@:]/gm)].map((m) => m[1]!).filter(isTransitHostIf));
  }
}

/**
 * The attached endpoints' ports, in a stable order. The controller refuses a host port that
 * another endpoint of the host holds, but two writes can race past that check (ADR 016):
 * then the endpoint with the smaller id keeps the port and the other's mapping is left out
 * and logged, so every agent run decides the same way.
 */
export function published(endpoints: Endpoint[], logger?: Logger): PublishedEndpoint[] {
  const taken: PublishedPort[] = [];
  const out: PublishedEndpoint[] = [];
  for (const e of [...endpoints].filter((x) => x.attachment && x.ports?.length).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const ports = e.ports!.filter((p) => {
      const clash = taken.some((q) => clashes(p, q));
      if (clash) logger?.warn({ endpoint: e.id, port: portText(p) }, 'host port held by another endpoint of this host: not published');
      return !clash;
    });
    taken.push(...ports);
    if (ports.length) out.push({ id: e.id, tenant: e.tenant, ip: e.ip, ports });
  }
  return out;
}
