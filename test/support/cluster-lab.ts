/**
 * Test support for issue 11's failure tests (1), (2), (3), (5): `tenet lab up --store etcd
 * --controllers 2` run as a user runs it (the real executable, its own run dir and prefix),
 * then the PIDs of `tenet lab ls -o json` to kill etcd members and controller replicas, and
 * `tenet lab restart NAME` to bring them back. The CLI of the test talks to the lab's
 * replicas ($TENET_API = `lab ls`'s `api`, what `tenet lab env` prints). destroy() runs
 * `lab down`, then SIGKILLs by PID whatever the lab started that is still there, also when
 * `lab down` failed; an exit hook does the same should the test process end first.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AgentClient, ControllerClient } from '../../src/api/client.js';
import { sleep, waitFor } from '../../src/base/async.js';
import { handoffIfname, tenantNs } from '../../src/datapath/names.js';
import { observeTenant } from '../../src/datapath/observe.js';
import { ExecRunner } from '../../src/datapath/runner.js';
import { Lab, type LabListing, type LabProcess } from '../../src/lab/lab.js';
import type { Endpoint } from '../../src/model/types.js';
import { TENET, TenetEnv } from './procs.js';

const runner = new ExecRunner();
const started = new Set<number>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => started.forEach((pid) => killQuietly(pid, 'SIGKILL')));
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

export class ClusterLab extends TenetEnv {
  listing?: LabListing;

  constructor(readonly extraEnv: NodeJS.ProcessEnv = {}) {
    super();
    installExitHook();
  }

  override get env(): NodeJS.ProcessEnv {
    return { ...super.env, ...this.extraEnv, ...(this.listing?.api ? { TENET_API: this.listing.api } : {}) };
  }

  /** `lab up --hosts N --store etcd --controllers C`; the listing is kept for PIDs and addresses. */
  async up(hosts: number, controllers = 2): Promise<void> {
    try {
      await this.ok('lab', 'up', '--hosts', String(hosts), '--store', 'etcd', '--controllers', String(controllers));
    } finally {
      await this.refresh().catch(() => undefined);
    }
  }

  async refresh(): Promise<LabListing> {
    this.listing = await this.json<LabListing>('lab', 'ls');
    for (const p of this.listing.processes) if (p.pid) started.add(p.pid);
    return this.listing;
  }

  process(name: string): LabProcess {
    const p = this.listing?.processes.find((x) => x.name === name);
    if (!p?.pid) throw new Error(`the lab has no process ${name} with a PID`);
    return p;
  }

  /** SIGKILL a lab process by the PID `lab ls` gave, and wait until it is gone. */
  async kill(name: string): Promise<number> {
    const { pid } = this.process(name);
    process.kill(pid!, 'SIGKILL');
    await waitFor(() => (existsSync(`/proc/${pid}`) && !/^$/.test(cmdline(pid!)) ? undefined : true), 30_000, `${name} (pid ${pid}) to be gone`, 50);
    return pid!;
  }

  /**
   * A test's setup without a node process per step (slow on a loaded machine): networks
   * through the API, lab containers through the Lab class `tenet lab run` uses.
   */
  async setUp(nets: { tenant: string; name: string; subnet: string }[], containers: { host: string; name: string; tenant: string; net: string }[]): Promise<void> {
    const api = this.api();
    try {
      for (const t of new Set(nets.map((n) => n.tenant))) await api.createTenant(t);
      for (const n of nets) await api.createNetwork(n.tenant, { name: n.name, subnet: n.subnet });
    } finally {
      api.close();
    }
    const inProcess = new Lab({ prefix: this.prefix, runDir: join(this.dir, 'run') });
    for (const c of containers) await inProcess.run(c.host, c.name, { tenant: c.tenant, network: c.net });
    await this.refresh();
  }

  /** `tenet ARGS…` that must end within `ms` (a hang is killed and reported as timedOut). */
  async tenetWithin(ms: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean; ms: number }> {
    const start = Date.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [TENET, ...args], { env: this.env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr, timedOut: signal === 'SIGKILL', ms: Date.now() - start });
      });
    });
  }

  /** `tenet lab restart NAME` (e1, c2, h1); the listing is refreshed. */
  async restart(name: string): Promise<void> {
    await this.ok('lab', 'restart', name);
    await this.refresh();
  }

  /** A client of every replica, as the CLI has ($TENET_API), or of one. */
  api(timeoutMs = 60_000, only?: string): ControllerClient {
    const l = this.listing!;
    const address = only ? `unix:${l.controllers!.find((c) => c.name === only)!.socket}` : l.api!;
    return new ControllerClient(address, timeoutMs);
  }

  agent(host: string, timeoutMs = 120_000): AgentClient {
    return new AgentClient(`unix:${this.host(host).socket}`, timeoutMs);
  }

  host(name: string): LabListing['hosts'][number] {
    return this.listing!.hosts.find((h) => h.name === name)!;
  }

  container(name: string): LabListing['containers'][number] {
    return this.listing!.containers.find((c) => c.name === name)!;
  }

  /** ping once from a lab container (its namespace), 1 s to answer. */
  ping = async (from: string, to: string): Promise<boolean> =>
    (await this.run(['ip', 'netns', 'exec', this.container(from).netns, 'ping', '-c1', '-W1', to])).code === 0;

  /** The addresses host `name`'s kernel has neighbour entries for in the tenant's namespace: its view of remote endpoints. */
  async neighbours(name: string, tenant: string): Promise<string[]> {
    const ns = tenantNs(this.host(name).nsPrefix, tenant);
    const s = await observeTenant(runner, ns, true);
    return s.neigh.map((n) => n.ip).sort();
  }

  override async destroy(): Promise<void> {
    const down = await this.tenet('lab', 'down');
    if (down.code !== 0) process.stderr.write(`lab down failed: ${down.stderr}\n`);
    for (const pid of started) if (cmdline(pid)) killQuietly(pid, 'SIGKILL');
    started.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A continuous ping from a lab container, as batches of 25 echo requests 0.2 s apart (each
 * batch runs to its end, so no request is left unanswered by stopping): sent and received
 * are summed over the batches until stop().
 */
export class ContinuousPing {
  sent = 0;
  received = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(netns: string, to: string) {
    this.loop = (async () => {
      while (this.running) {
        const out = await runPing(netns, to);
        this.sent += out.sent;
        this.received += out.received;
      }
    })();
  }

  async stop(): Promise<{ sent: number; received: number }> {
    this.running = false;
    await this.loop;
    return { sent: this.sent, received: this.received };
  }
}

function runPing(netns: string, to: string): Promise<{ sent: number; received: number }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'ping', '-n', '-i', '0.2', '-c', '25', '-W', '2', to]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('close', () => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      resolve(m ? { sent: Number(m[1]), received: Number(m[2]) } : { sent: 0, received: 0 });
    });
  });
}

/** One line, no stack trace: what the CLI must print when something it needs is down. */
export function oneClearLine(stderr: string): boolean {
  const text = stderr.trim();
  return /^tenet: [^\n]+$/.test(text) && !/\bat .*\(.*:\d+:\d+\)/.test(text);
}

export { sleep };

/** An endpoint made and attached to `host` through `api` as a handoff (the host's agent makes its interface pair). */
export async function createAttached(api: ControllerClient, tenant: string, network: string, id: string, host: string): Promise<Endpoint> {
  await api.createEndpoint(tenant, network, { id });
  return api.attachEndpoint(id, { host, attachment: { kind: 'handoff', hostIfname: handoffIfname(id, 'eth0'), ifname: 'eth0' } });
}

/**
 * Each host's kernel view of the network equals the store: its neighbour entries in the
 * tenant's namespace are exactly the addresses of the endpoints on the other hosts.
 * Polled (bounded) until true; the last difference otherwise.
 */
export async function viewsMatchStore(lab: ClusterLab, api: ControllerClient, tenant: string, network: string, hosts: string[], timeoutMs = 90_000): Promise<string[]> {
  const diff = async () => {
    const eps = (await api.listEndpoints({ tenant, network })).filter((e) => e.host);
    const out: string[] = [];
    for (const h of hosts) {
      const want = eps.filter((e) => e.host !== h).map((e) => e.ip).sort();
      const have = await lab.neighbours(h, tenant);
      if (JSON.stringify(want) !== JSON.stringify(have)) out.push(`${h}: store has ${want.join(' ')}; kernel has ${have.join(' ')}`);
    }
    return out;
  };
  let last: string[] = [];
  await waitFor(async () => ((last = await diff().catch((e: Error) => [e.message])).length === 0 ? true : undefined), timeoutMs, 'every host to realize the store', 500).catch(() => undefined);
  return last;
}
