/**
 * Workload namespaces read before a full reconcile takes the agent's queue (issue 9). A full
 * set() reads every workload namespace of its ports (one `nsenter ip` each, workload.ts);
 * done inside the queue, every ADD and DEL waited behind all of them: at 117 endpoints an
 * ADD waited 10 s, at 200 one waited 19 s (docs/benchmarks.md, CNI). The agent now reads
 * them first, outside the queue, a few processes at a time, and hands the reads to set().
 *
 * A read taken while other calls change ports can be out of date. Every set() opens an
 * epoch and marks the workload namespaces it makes ports in or repairs; a read remembers
 * the epoch it began in, and set() takes from it only the namespaces no set() marked in
 * that epoch or after (a set() of that epoch may still have been running when the read
 * began). The others count as not read: no repair this time, the next full reconcile
 * looks again. A port deleted meanwhile is out of the plan, so its read is never consulted.
 */
import type { CommandRunner } from './runner.js';
import { observeWorkloads, type WorkloadState } from './workload.js';

/** Namespaces read, and the epoch the reading began in. */
export interface WorkloadReads {
  epoch: number;
  states: Map<string, WorkloadState | Error>;
}

/**
 * Processes a background read runs at once: one, each started when the agent's queue is idle.
 * With four at once, every ADD and DEL running beside a 200-namespace read slowed several-fold
 * on a loaded 2-core host (docs/benchmarks.md, CNI); the read has no deadline, they do.
 */
export const BACKGROUND_READS = 1;

export class WorkloadEpochs {
  private epoch = 0;
  /** Workload namespace → the last epoch a set() changed it in. */
  private readonly touched = new Map<string, number>();
  /** Marks older than this were forgotten: a read begun before it cannot be checked. */
  private forgottenBelow = 0;

  /** A set() begins. */
  begin(): void {
    this.epoch++;
  }

  /** The running set() makes ports in, or repairs, these namespaces. */
  touch(paths: Iterable<string>): void {
    for (const p of paths) if (p) this.touched.set(p, this.epoch);
  }

  /** `before`: resolves when the next process may start (the agent: when its queue is idle). */
  async read(runner: CommandRunner, paths: Iterable<string>, before?: () => Promise<unknown>): Promise<WorkloadReads> {
    const epoch = this.epoch;
    return { epoch, states: await observeWorkloads(runner, paths, BACKGROUND_READS, before) };
  }

  /** The reads of `paths` still good to diff against; the rest count as not read. */
  fresh(reads: WorkloadReads, paths: string[]): Map<string, WorkloadState | Error> {
    const out = new Map<string, WorkloadState | Error>();
    if (reads.epoch < this.forgottenBelow) return out;
    for (const p of paths) {
      const state = reads.states.get(p);
      const changed = this.touched.get(p);
      if (state !== undefined && (changed === undefined || changed < reads.epoch)) out.set(p, state);
    }
    this.forget(reads.epoch);
    return out;
  }

  /** Marks older than `epoch` decide nothing for reads begun at it or later. */
  private forget(epoch: number): void {
    if (epoch <= this.forgottenBelow) return;
    for (const [p, e] of this.touched) if (e < epoch) this.touched.delete(p);
    this.forgottenBelow = epoch;
  }
}
