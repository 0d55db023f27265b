/**
 * Keeps this host's dockerd and Tenet agreeing on networks, both ways, outside any plugin
 * handler (the Docker API is only ever called from here, asynchronously: a handler that
 * called it could deadlock dockerd). Each round, from a full view of both sides or not at all:
 * - a docker network CreateNetwork left pending gets its Tenet network, named after its
 *   docker name (NAME, or NAME/TENANT); if Tenet refuses, the docker network is removed
 *   (nothing half-made) and the reason logged;
 * - a Tenet network without a docker network here is created in dockerd (`-o tenant= -o
 *   network=`, so the driver binds it at once);
 * - a bound docker network whose Tenet network is gone is removed from dockerd (dockerd
 *   refuses while containers use it; the next round tries again).
 */
import type { Logger } from '../base/logger.js';
import type { Network } from '../model/types.js';
import type { DriverContext } from './context.js';
import type { DockerEngine, DockerNetwork } from './engine.js';
import { adoptOrCreate, forget } from './network-driver.js';
import { DRIVER_NAME, dockerName, fromDockerName } from './options.js';
import type { BindingRecord } from './state.js';

export const DEFAULT_SYNC_MS = 2_000;
/** A pending binding dockerd never recorded (its create was rolled back) is dropped after this. */
const PENDING_GRACE_MS = 30_000;

export class NetworkSync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  /** Docker names we failed to create, so one clash is logged once, not every round. */
  private readonly refused = new Set<string>();

  constructor(private readonly ctx: DriverContext, private readonly docker: DockerEngine, private readonly logger: Logger, private readonly intervalMs = DEFAULT_SYNC_MS) {}

  start(): void {
    const tick = () => {
      this.kick();
      if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Runs a round now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((err) => this.logger.debug({ err: (err as Error).message }, 'docker network sync round skipped'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          setImmediate(() => this.kick());
        }
      });
  }

  /** One round; resolves when done (tests call it directly). */
  async round(): Promise<void> {
    const since = Date.now();
    const [tenet, docker] = await Promise.all([this.ctx.controller.listNetworks(), this.docker.listNetworks(DRIVER_NAME)]);
    const byId = new Map(docker.map((d) => [d.Id, d]));
    for (const d of docker) if (!this.ctx.state.bindings.has(d.Id)) this.rebind(d);
    // Bindings made while we listed are judged next round: our lists may predate them.
    const settled = (b: BindingRecord) => Date.parse(b.createdAt) < since;
    // and those named in this round are newer than our Tenet list.
    const pending = new Set([...this.ctx.state.bindings.values()].filter((b) => !b.network).map((b) => b.dockerId));
    for (const b of [...this.ctx.state.bindings.values()].filter(settled)) {
      if (!b.network) await this.namePending(b, byId.get(b.dockerId));
      else if (!byId.has(b.dockerId)) forget(this.ctx, b.dockerId); // removed in dockerd while we were away
    }
    const present = new Set(tenet.map((n) => `${n.tenant}/${n.name}`));
    for (const b of [...this.ctx.state.bindings.values()].filter(settled)) {
      if (b.network && !pending.has(b.dockerId) && !present.has(`${b.tenant}/${b.network}`)) await this.removeFromDocker(b);
    }
    for (const n of tenet) if (!this.ctx.state.bindingOf(n.tenant, n.name)) await this.createInDocker(n, docker);
  }

  /** A docker network of ours with no entry in the map (state file lost): rebuilt from dockerd's record (name, `-o` options, `--internal`). */
  private rebind(d: DockerNetwork): void {
    const o = d.Options ?? {};
    const named = o.network ? { tenant: o.tenant ?? this.ctx.defaultTenant, network: o.network } : safeName(d.Name, o.tenant, this.ctx.defaultTenant);
    const subnet = d.IPAM.Config?.[0]?.Subnet;
    if (!named || !subnet) return;
    const aux = Object.values(d.IPAM.Config?.[0]?.AuxiliaryAddresses ?? {});
    const b: BindingRecord = { dockerId: d.Id, ...named, subnet, gateway: d.IPAM.Config?.[0]?.Gateway, internal: d.Internal === true, aux, createdAt: new Date().toISOString() };
    this.ctx.state.bindings.set(d.Id, b);
    this.ctx.state.save();
  }

  private async namePending(b: BindingRecord, d: DockerNetwork | undefined): Promise<void> {
    if (!d) {
      if (Date.now() - Date.parse(b.createdAt) > PENDING_GRACE_MS) forget(this.ctx, b.dockerId);
      return;
    }
    const pool = b.poolId ? this.ctx.state.pools.get(b.poolId) : undefined;
    try {
      const { tenant, network } = fromDockerName(d.Name, b.tenantOption, this.ctx.defaultTenant);
      b.tenant = tenant;
      await adoptOrCreate(this.ctx, b, network, pool?.aux ?? []);
      this.ctx.state.save();
      this.logger.info({ docker: d.Name, tenant, network }, 'docker network bound to its Tenet network');
    } catch (err) {
      this.logger.error({ docker: d.Name, err: (err as Error).message }, 'Tenet refused the network made with docker network create: removing it from dockerd');
      forget(this.ctx, b.dockerId);
      await this.docker.removeNetwork(b.dockerId).catch(() => undefined);
    }
  }

  private async removeFromDocker(b: BindingRecord): Promise<void> {
    try {
      await this.docker.removeNetwork(b.dockerId);
      forget(this.ctx, b.dockerId);
      this.logger.info({ tenant: b.tenant, network: b.network }, 'Tenet network gone: removed from dockerd');
    } catch (err) {
      this.logger.warn({ tenant: b.tenant, network: b.network, err: (err as Error).message }, 'Tenet network gone but dockerd keeps it (containers still use it)');
    }
  }

  private async createInDocker(n: Network, docker: DockerNetwork[]): Promise<void> {
    const name = dockerName(n.tenant, n.name, this.ctx.defaultTenant);
    if (this.refused.has(name) || docker.some((d) => d.Name === name)) return;
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: DRIVER_NAME,
        CheckDuplicate: true,
        Options: { tenant: n.tenant, network: n.name },
        // The IPAM options reach RequestPool, whose pool id then names the network (pool-id.ts).
        IPAM: { Driver: DRIVER_NAME, Config: [{ Subnet: n.subnet, Gateway: n.gateway }], Options: { tenant: n.tenant, network: n.name } },
      });
      this.logger.info({ docker: name, tenant: n.tenant, network: n.name }, 'Tenet network created in dockerd');
    } catch (err) {
      this.refused.add(name);
      this.logger.warn({ docker: name, err: (err as Error).message }, 'could not create the Tenet network in dockerd');
    }
  }
}

function safeName(name: string, tenant: string | undefined, defaultTenant: string) {
  try {
    return fromDockerName(name, tenant, defaultTenant);
  } catch {
    return undefined;
  }
}
