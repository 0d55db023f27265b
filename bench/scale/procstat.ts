/**
 * Resident memory and CPU of a process, read from /proc/<pid>/status and /proc/<pid>/stat
 * every second: enough to give the peak and the steady figure of each phase of a run.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ, `getconf CLK_TCK` on Linux

export interface ProcSample {
  t: number;
  rssMiB: number;
  /** CPU seconds used so far (user + system). */
  cpuS: number;
}

export function readProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
    return { t: Date.now(), rssMiB: rssKiB / 1024, cpuS };
  } catch {
    return undefined; // the process is gone
  }
}

export function peakRssMiB(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

export interface PhaseFigures {
  seconds: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  /** Mean CPU over the phase, in % of one core. */
  cpuMeanPct: number;
  /** Highest CPU over any one sample interval. */
  cpuPeakPct: number;
}

export class Sampler {
  readonly samples: ProcSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 1000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): ProcSample | undefined {
    const s = readProc(this.pid);
    if (s) this.samples.push(s);
    return s;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Figures between two times (ms since epoch); undefined when fewer than two samples fall in. */
  phase(from: number, to: number): PhaseFigures | undefined {
    const xs = this.samples.filter((s) => s.t >= from && s.t <= to);
    if (xs.length < 2) return undefined;
    const first = xs[0]!;
    const last = xs[xs.length - 1]!;
    let cpuPeakPct = 0;
    for (let i = 1; i < xs.length; i++) {
      const dt = (xs[i]!.t - xs[i - 1]!.t) / 1000;
      if (dt > 0) cpuPeakPct = Math.max(cpuPeakPct, ((xs[i]!.cpuS - xs[i - 1]!.cpuS) / dt) * 100);
    }
    const seconds = (last.t - first.t) / 1000;
    return {
      seconds,
      rssPeakMiB: Math.max(...xs.map((s) => s.rssMiB)),
      rssEndMiB: last.rssMiB,
      cpuMeanPct: seconds > 0 ? ((last.cpuS - first.cpuS) / seconds) * 100 : NaN,
      cpuPeakPct,
    };
  }
}
