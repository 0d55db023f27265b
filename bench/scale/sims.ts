/**
 * The parent's side of the simulated agents: a few forked processes (sim-agents.ts), each
 * holding a share of the hosts, and what they report (first lists, marker arrivals,
 * counters, re-lists). Stopped by PID at cleanup.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from '../lib/main.js';
import { stopChild } from '../lib/tenet.js';
import { peakRssMiB, readProc } from './procstat.js';
import type { Counters, FromSim, SimHost, ToSim } from './protocol.js';

const SCRIPT = fileURLToPath(new URL('./sim-agents.js', import.meta.url));

export class SimAgents {
  readonly listed = new Map<string, { t: number; bytes: number; retries: number }>();
  /** Marker endpoint id → host → arrival time. */
  readonly arrivals = new Map<string, Map<string, number>>();
  readonly failures: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly waiting = new Map<string, (m: FromSim) => void>();

  constructor(procs: number, heapMiB: number, cleanup: Cleanup) {
    for (let i = 0; i < procs; i++) {
      const child = fork(SCRIPT, [], { execArgv: [`--max-old-space-size=${heapMiB}`], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
      cleanup.add(`stop simulated agents pid ${child.pid}`, async () => {
        if (child.connected) child.send({ cmd: 'stop' } satisfies ToSim);
        await stopChild(child);
      });
      child.on('message', (m: FromSim) => this.onMessage(m));
      child.on('exit', (code, sig) => code !== 0 && this.failures.push(`simulated agents pid ${child.pid} exited (${code ?? sig})`));
      this.children.push(child);
    }
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid!);
  }

  /** With several controller replicas (`sockets`), process i's agents use replica i mod their count. */
  start(tree: string, sockets: string[], hosts: SimHost[], probes: string[], startWidth: number): void {
    this.children.forEach((c, i) => {
      const mine = hosts.filter((_, j) => j % this.children.length === i);
      c.send({ cmd: 'start', tree, socket: sockets[i % sockets.length]!, hosts: mine, probes, startWidth } satisfies ToSim);
    });
  }

  broadcast(m: ToSim): void {
    for (const c of this.children) if (c.connected) c.send(m);
  }

  async counters(): Promise<Map<string, Counters>> {
    const all = new Map<string, Counters>();
    const answers = this.children.map(
      (c, i) =>
        new Promise<void>((resolve) => {
          this.waiting.set(`counters ${i}`, (m) => {
            if (m.type === 'counters') for (const [h, x] of Object.entries(m.counters)) all.set(h, x);
            if (m.type === 'counters' && m.lastWarning) console.log(`  last agent warning (process ${i}): ${m.lastWarning}`);
            resolve();
          });
          c.send({ cmd: 'counters' } satisfies ToSim);
        }),
    );
    // Answers arrive in any order: hand each to the first waiter still open.
    await Promise.all(answers);
    return all;
  }

  relist(host: string): Promise<{ ms: number; bytes: number }> {
    return new Promise((resolve) => {
      this.waiting.set(`relist ${host}`, (m) => m.type === 'relisted' && resolve(m));
      this.broadcast({ cmd: 'relist', host });
    });
  }

  /** Resident memory now and at its peak, per process, in MiB. */
  rss(): { now: number; peak: number }[] {
    return this.pids.map((p) => ({ now: readProc(p)?.rssMiB ?? NaN, peak: peakRssMiB(p) }));
  }

  private onMessage(m: FromSim): void {
    if (m.type === 'listed') this.listed.set(m.host, { t: m.t, bytes: m.bytes, retries: m.retries });
    else if (m.type === 'marker') {
      if (!this.arrivals.has(m.id)) this.arrivals.set(m.id, new Map());
      this.arrivals.get(m.id)!.set(m.host, m.t);
    } else if (m.type === 'failed') this.failures.push(m.error);
    else if (m.type === 'relisted') this.take(`relist ${m.host}`, m);
    else if (m.type === 'counters') this.take([...this.waiting.keys()].find((k) => k.startsWith('counters ')), m);
  }

  private take(key: string | undefined, m: FromSim): void {
    const fn = key === undefined ? undefined : this.waiting.get(key);
    if (!fn || key === undefined) return;
    this.waiting.delete(key);
    fn(m);
  }
}
