/**
 * Test support: a controller and one agent per simulated host, all in this process, on the
 * real kernel (TestUnderlay namespaces). Agents are real Agent objects with their real API
 * on unix sockets; only process boundaries are skipped, so agent restarts can be tested
 * precisely (a new Agent object starts with an empty cache, as a new process would).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AgentClient, ControllerClient } from '../../src/api/client.js';
import { silentLogger } from '../../src/base/logger.js';
import { Agent } from '../../src/agent/agent.js';
import { buildAgentApp } from '../../src/agent/api.js';
import { PortPublisher } from '../../src/agent/ports.js';
import type { DockerEngine } from '../../src/docker/engine.js';
import { buildControllerApp } from '../../src/controller/app.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { TestUnderlay } from '../../src/datapath/testing/underlay.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';

interface RunningAgent {
  agent: Agent;
  app: FastifyInstance;
  client: AgentClient;
}

export class InProcessCluster {
  readonly underlay = new TestUnderlay();
  readonly dir = mkdtempSync(join(tmpdir(), 'tenet-test-'));
  readonly agents = new Map<string, RunningAgent>();
  controllerApp?: FastifyInstance;
  controller!: ControllerClient;

  constructor(readonly store: Store = new MemoryStore()) {}

  get controllerSocket(): string {
    return join(this.dir, 'controller.sock');
  }

  async start(hosts: string[]): Promise<void> {
    await this.underlay.create(hosts);
    this.controllerApp = await buildControllerApp({ store: this.store, logger: silentLogger, version: 'test', bookmarkMs: 500 });
    await this.controllerApp.listen({ path: this.controllerSocket });
    this.controller = new ControllerClient(`unix:${this.controllerSocket}`);
    for (const h of hosts) await this.startAgent(h);
  }

  /** `datapath`: a stand-in for the real one (a test's deliberately broken datapath). */
  async startAgent(host: string, datapath?: Datapath, docker?: DockerEngine): Promise<AgentClient> {
    const h = this.underlay.hosts.get(host)!;
    const controller = new ControllerClient(`unix:${this.controllerSocket}`);
    const agent = new Agent({
      host,
      nsPrefix: `${h.ns}-`,
      underlay: { name: 'default', vtep: h.vtep, dev: 'eth0', mtu: 1500 },
      controller,
      datapath: datapath ?? this.datapath(host),
      logger: silentLogger,
      ports: new PortPublisher(this.underlay.runner, { nsPrefix: `${h.ns}-`, hostNs: h.ns }, silentLogger),
    });
    await agent.start();
    const app = buildAgentApp(agent, silentLogger, 'test', docker);
    const socket = join(this.dir, `agent-${host}.sock`);
    await app.listen({ path: socket });
    const client = new AgentClient(`unix:${socket}`);
    this.agents.set(host, { agent, app, client });
    return client;
  }

  /** The datapath an agent of `host` gets: the real one, driving the simulated host's namespace. */
  datapath(host: string): Datapath {
    return new Datapath(this.underlay.runner, silentLogger, { hostNs: this.underlay.hosts.get(host)!.ns });
  }

  /** The running Agent object of `host` (its counters: reconciles). */
  agentObject(host: string): Agent {
    return this.agents.get(host)!.agent;
  }

  /** Stops an agent as a crash or restart would: the kernel state is left as it is. */
  async stopAgent(host: string): Promise<void> {
    const a = this.agents.get(host);
    if (!a) return;
    a.agent.stop();
    a.agent.opts.controller.close();
    a.client.close();
    await a.app.close();
    this.agents.delete(host);
  }

  agent(host: string): AgentClient {
    return this.agents.get(host)!.client;
  }

  async destroy(): Promise<void> {
    for (const h of [...this.agents.keys()]) await this.stopAgent(h);
    this.controller?.close();
    await this.controllerApp?.close();
    await this.underlay.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
