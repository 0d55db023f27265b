/**
 * The neighbour entries DHCP replies need (ADR 020: a reply is unicast to the endpoint's
 * address and MAC, and the client, with no address yet, answers no ARP), set in batches.
 * One `ip neigh replace` process per reply was the cost of a burst (ADR 020 addendum: 50
 * clients at once meant 100 spawns competing with the clients for the CPU, 0.35 s per reply
 * at p50, seconds under load, so clients retransmitted). Here at most one `ip -batch`
 * runs per tenant namespace; what arrives while it runs waits and goes in the next one, so a
 * burst costs a few spawns and a lone client still one.
 */
import type { CommandRunner } from '../datapath/runner.js';

interface Pending {
  line: string;
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
}

/** `ip -force -batch` names each failed line "Command failed -:<n>" on stderr (1-based). */
const FAILED_LINE = /Command failed -:(\d+)/g;

export class NeighbourBatcher {
  private readonly queues = new Map<string, Map<string, Pending>>();
  private readonly running = new Set<string>();
  /** Batches run so far (tests and the benchmark read it). */
  batches = 0;

  constructor(private readonly runner: CommandRunner) {}

  /**
   * Resolves once `ip` resolves to `mac` on `bridge` in `ns` (a STALE entry: the kernel sends
   * to it at once, then checks it by ARP and forgets it if nobody answers).
   */
  reach(ns: string, bridge: string, ip: string, mac: string): Promise<void> {
    const line = `neigh replace ${ip} lladdr ${mac} dev ${bridge} nud stale`;
    const queue = this.queues.get(ns) ?? new Map<string, Pending>();
    this.queues.set(ns, queue);
    const pending = queue.get(line) ?? { line, waiters: [] };
    queue.set(line, pending);
    const done = new Promise<void>((resolve, reject) => pending.waiters.push({ resolve, reject }));
    if (!this.running.has(ns)) void this.drain(ns);
    return done;
  }

  /** Runs what is queued for `ns`, then what arrived meanwhile, until nothing is left. */
  private async drain(ns: string): Promise<void> {
    this.running.add(ns);
    try {
      for (let queue = this.queues.get(ns); queue?.size; queue = this.queues.get(ns)) {
        this.queues.delete(ns);
        await this.runBatch(ns, [...queue.values()]);
      }
    } finally {
      this.running.delete(ns);
    }
  }

  private async runBatch(ns: string, batch: Pending[]): Promise<void> {
    this.batches++;
    const input = batch.map((p) => `${p.line}\n`).join('');
    let failed: Set<number>;
    let why: string;
    try {
      const r = await this.runner.run(['ip', '-n', ns, '-force', '-batch', '-'], { input, allowFail: true });
      why = r.stderr.trim().split('\n').slice(0, 2).join(' | ') || `exit ${r.code}`;
      failed = new Set([...r.stderr.matchAll(FAILED_LINE)].map((m) => Number(m[1]) - 1));
      // A failure ip did not attribute to a line (the namespace is gone...) fails them all.
      if (r.code !== 0 && failed.size === 0) failed = new Set(batch.map((_, i) => i));
    } catch (err) {
      why = (err as Error).message;
      failed = new Set(batch.map((_, i) => i));
    }
    batch.forEach((p, i) => {
      for (const w of p.waiters) {
        if (failed.has(i)) w.reject(new Error(`ip -n ${ns} ${p.line}: ${why}`));
        else w.resolve();
      }
    });
  }
}
