/**
 * Published ports of this host's endpoints (ADR 015): `programPorts(endpointId, ports)` and
 * `revokePorts(endpointId)`, the calls the Docker driver's Program/RevokeExternalConnectivity,
 * `tenet ep expose` and CNI portMappings share. The agent keeps the plan (endpoint → ports)
 * and realizes it whole after every change (datapath/port-map.ts): the transit veth pairs,
 * the host's `ip tenet-nat` table and each tenant namespace's `ip tenet-ports`. An endpoint
 * that goes (removed, its container dead) loses its ports within one prune period.
 */
import { SerialQueue } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import { dropTenantTable, isTransitHostIf, planPorts, type PortMapping, type PortPlan } from '../datapath/port-map.js';
import type { CommandRunner } from '../datapath/runner.js';

export interface PortHost {
  nsPrefix: string;
  /** The namespace holding the underlay when it is not the agent's own (tests). */
  hostNs?: string;
  /** This host's endpoints by id, now. */
  endpoint(id: string): Endpoint | undefined;
}

export const MAX_PORTS = 32;
export const PRUNE_MS = 1000;

export class PortPublisher {
  private readonly plan = new Map<string, PortMapping[]>();
  private readonly queue = new SerialQueue();
  private tenantsDone = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly runner: CommandRunner,
    private readonly host: PortHost,
    private readonly logger: Logger,
  ) {}

  /** Removes the ports of endpoints that are gone, once a second. */
  start(): void {
    this.timer = setInterval(() => void this.prune().catch((err) => this.logger.error({ err: (err as Error).message }, 'port prune failed')), PRUNE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Publishes `ports` of the endpoint (replacing what it had); a host port another endpoint holds is refused. */
  async programPorts(endpointId: string, ports: PortMapping[]): Promise<void> {
    const ep = this.host.endpoint(endpointId);
    if (!ep?.attachment) throw new TenetError('ENDPOINT_NOT_FOUND', `endpoint ${endpointId} is not attached on this host`, 'publish ports of an attached endpoint of this host');
    const checked = validatePorts(ports);
    this.refuseTaken(endpointId, checked);
    this.plan.set(endpointId, checked);
    await this.apply();
  }

  /** Unpublishes every port of the endpoint; an unknown endpoint is fine. */
  revokePorts(endpointId: string): Promise<void> {
    if (!this.plan.delete(endpointId)) return Promise.resolve();
    return this.apply();
  }

  published(endpointId: string): PortMapping[] {
    return this.plan.get(endpointId) ?? [];
  }

  async prune(): Promise<void> {
    const gone = [...this.plan.keys()].filter((id) => !this.host.endpoint(id)?.attachment);
    if (gone.length === 0) return;
    for (const id of gone) this.plan.delete(id);
    this.logger.info({ endpoints: gone }, 'ports of gone endpoints unpublished');
    await this.apply();
  }

  private refuseTaken(endpointId: string, ports: PortMapping[]): void {
    for (const [other, theirs] of this.plan) {
      if (other === endpointId) continue;
      const clash = ports.find((p) => theirs.some((q) => q.proto === p.proto && q.hostPort === p.hostPort && (!q.hostIp || !p.hostIp || q.hostIp === p.hostIp)));
      if (clash) throw new TenetError('HOST_PORT_IN_USE', `host port ${clash.hostPort}/${clash.proto} is published by endpoint ${other}`, 'pick another host port');
    }
  }

  private apply(): Promise<void> {
    return this.queue.run(async () => {
      const published = [...this.plan].flatMap(([id, ports]) => {
        const e = this.host.endpoint(id);
        return e ? [{ id, tenant: e.tenant, ip: e.ip, ports }] : [];
      });
      await this.realize(planPorts(published, this.host.nsPrefix));
    });
  }

  private async realize(plan: PortPlan): Promise<void> {
    const ip = this.host.hostNs ? ['ip', '-n', this.host.hostNs] : ['ip'];
    const existing = await this.transitLinks(ip);
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

  private async transitLinks(ip: string[]): Promise<Set<string>> {
    const out = (await this.runner.run([...ip, '-o', 'link', 'show'])).stdout;
    return new Set([...out.matchAll(/^\d+: ([^:@]+)[@:]/gm)].map((m) => m[1]!).filter(isTransitHostIf));
  }
}

/** A ports list from a caller: bounded, whole ports, tcp or udp. */
export function validatePorts(ports: unknown): PortMapping[] {
  if (!Array.isArray(ports) || ports.length > MAX_PORTS) throw new TenetError('BAD_REQUEST', `ports must be a list of at most ${MAX_PORTS} mappings`, 'give e.g. [{"proto":"tcp","hostPort":8080,"containerPort":80}]');
  const port = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
  return ports.map((p: Partial<PortMapping>) => {
    if (!p || (p.proto !== 'tcp' && p.proto !== 'udp') || !port(p.hostPort) || !port(p.containerPort)) {
      throw new TenetError('BAD_REQUEST', `invalid port mapping ${JSON.stringify(p).slice(0, 80)}`, 'use HOSTPORT:CONTAINERPORT/tcp or /udp, ports 1-65535');
    }
    if (p.hostIp !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(p.hostIp)) throw new TenetError('INVALID_IP', `invalid host address ${JSON.stringify(p.hostIp)}`, 'give a dotted IPv4 address of this host');
    return { proto: p.proto, hostPort: p.hostPort!, containerPort: p.containerPort!, ...(p.hostIp ? { hostIp: p.hostIp } : {}) };
  });
}
