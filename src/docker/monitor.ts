/**
 * The Docker event monitor: a `--net=none` container that carries Tenet markers (markers.ts)
 * is attached as it starts, and its endpoints are removed (address released) when it dies.
 * It subscribes to dockerd's /events first and then lists the running containers (catch-up),
 * so nothing that happens while it was down or reconnecting is missed: containers running
 * with markers but unattached get attached, endpoints made for containers that are no longer
 * running are removed. dockerd restarting ends the stream: it reconnects with backoff.
 *
 * Every event is handled in order on one chain, so a container's die never overtakes its start.
 * The agent side (attach, remove, the endpoints it holds) is an interface: this layer does
 * not import the agent.
 */
import { sleep } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import type { Endpoint } from '../model/types.js';
import type { ContainerInspect, DockerEngine, DockerEvent } from './engine.js';
import { CONTAINER_LABEL, containerName, endpointNameOf, intentOf, shortId, type AttachIntent } from './markers.js';

/** What the monitor needs of the agent. */
export interface MonitorTarget {
  /** Resolves once the agent's view of the controller is complete (never act on a partial one). */
  ready(): Promise<void>;
  /** True when the monitor's endpoint for this container and intent is attached here already. */
  attached(container: ContainerInspect, intent: AttachIntent): boolean;
  /** Attaches the container's namespace (idempotent: keyed by the container id). */
  attach(container: ContainerInspect, intent: AttachIntent): Promise<Endpoint>;
  /** This host's endpoints made for containers (they carry CONTAINER_LABEL). */
  containerEndpoints(): Endpoint[];
  remove(ep: Endpoint, why: string): Promise<void>;
  /** Names endpoint `id` (Docker's EndpointID) when it is an endpoint of this host; false otherwise. */
  nameEndpoint(id: string, name: string): Promise<boolean>;
}

/** Container start/die/destroy/rename, and network connect (a running container joins a Tenet network). */
const ACTIONS = ['start', 'die', 'destroy', 'rename', 'connect'];
const TYPES = ['container', 'network'];
const MAX_BACKOFF_MS = 5000;

export class DockerMonitor {
  private readonly abort = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private done?: Promise<void>;
  /** Catch-ups completed (tests wait for one after a restart). */
  catchUps = 0;

  constructor(
    private readonly engine: DockerEngine,
    private readonly target: MonitorTarget,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.done ??= this.run();
  }

  /** Stops watching; an event being handled finishes first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
    await this.chain;
  }

  private async run(): Promise<void> {
    await this.target.ready();
    for (let delay = 200; !this.abort.signal.aborted; delay = Math.min(delay * 2, MAX_BACKOFF_MS)) {
      try {
        await this.engine.events(ACTIONS, (e) => this.enqueue(() => this.onEvent(e)), this.abort.signal, () => {
          delay = 100; // connected: the next loss starts the backoff afresh
          this.enqueue(() => this.catchUp());
        }, TYPES);
        if (!this.abort.signal.aborted) this.logger.warn({ socket: this.engine.socketPath }, 'dockerd closed the event stream; reconnecting');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot watch dockerd events; retrying');
      }
      if (!this.abort.signal.aborted) await sleep(delay);
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err) => this.logger.error({ err: (err as Error).message }, 'docker monitor step failed'));
  }

  private async onEvent(e: DockerEvent): Promise<void> {
    if (e.Type === 'network') {
      const container = e.Actor.Attributes?.container;
      if (e.Action === 'connect' && container) await this.inspected(container, (c) => this.nameDriverEndpoints(c));
      return;
    }
    if (e.Type !== 'container') return;
    if (e.Action === 'start') await this.started(e.Actor.ID);
    else if (e.Action === 'rename') await this.inspected(e.Actor.ID, (c) => this.nameDriverEndpoints(c));
    else await this.gone(new Set(), shortId(e.Actor.ID), `its container ${shortId(e.Actor.ID)} ${e.Action === 'die' ? 'died' : 'was removed'}`);
  }

  /**
   * A started container: its endpoints on Tenet networks (`--net=red`, the driver's) get its
   * name; one with markers is attached; one with neither is none of our business.
   */
  private async started(id: string): Promise<void> {
    await this.inspected(id, async (c) => {
      await this.nameDriverEndpoints(c);
      await this.attachMarked(c);
    });
  }

  private async inspected(id: string, step: (c: ContainerInspect) => Promise<void>): Promise<void> {
    let c: ContainerInspect;
    try {
      c = await this.engine.inspect(id);
    } catch (err) {
      this.logger.warn({ container: shortId(id), err: (err as Error).message }, 'cannot inspect a container');
      return;
    }
    await step(c);
  }

  /**
   * libnetwork never tells a remote driver the container's name, so the driver's endpoints
   * are made unnamed; here, outside any plugin handler (dockerd's API may be called), each
   * gets the container's name. A name another endpoint of the network holds is logged and
   * left: the endpoint stays unnamed rather than the container unstarted.
   */
  private async nameDriverEndpoints(c: ContainerInspect): Promise<void> {
    const name = endpointNameOf(c);
    if (!name) return;
    for (const s of Object.values(c.NetworkSettings?.Networks ?? {})) {
      if (!s.EndpointID) continue;
      try {
        if (await this.target.nameEndpoint(s.EndpointID, name)) this.logger.debug({ container: shortId(c.Id), endpoint: s.EndpointID, name }, 'docker endpoint named after its container');
      } catch (err) {
        this.logger.warn({ container: containerName(c), endpoint: s.EndpointID, err: (err as Error).message }, 'could not name the endpoint after its container');
      }
    }
  }

  private async attachMarked(c: ContainerInspect): Promise<void> {
    const intent = intentOf(c);
    if (!intent || !c.State.Running || c.State.Pid <= 0 || this.target.attached(c, intent)) return;
    try {
      const ep = await this.target.attach(c, intent);
      this.logger.info({ container: shortId(c.Id), endpoint: ep.id, ip: ep.ip, tenant: intent.tenant, network: intent.network }, 'container attached by the docker monitor');
    } catch (err) {
      // The container runs without its network: say so where the operator looks (the agent log).
      this.logger.error({ container: shortId(c.Id), tenant: intent.tenant, network: intent.network, err: (err as Error).message }, 'could not attach a container that asks for a Tenet network');
    }
  }

  /** Removes the endpoints of a container (or, with `keep`, of every container not in it). */
  private async gone(keep: Set<string>, only: string | undefined, why: string): Promise<void> {
    for (const ep of this.target.containerEndpoints()) {
      const owner = ep.labels[CONTAINER_LABEL]!;
      if (only !== undefined ? owner !== only : keep.has(owner)) continue;
      try {
        await this.target.remove(ep, why);
      } catch (err) {
        this.logger.error({ endpoint: ep.id, err: (err as Error).message }, 'could not remove the endpoint of a gone container; the workload check collects it later');
      }
    }
  }

  /** After (re)connecting: attach what runs unattached, remove what belongs to no running container. */
  private async catchUp(): Promise<void> {
    const running = await this.engine.listContainers();
    for (const c of running) await this.started(c.Id);
    const ids = new Set(running.map((c) => shortId(c.Id)));
    await this.gone(ids, undefined, 'its container is no longer running');
    this.catchUps++;
  }
}
