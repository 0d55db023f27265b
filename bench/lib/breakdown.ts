/**
 * Where an attach's time goes, read afterwards from the JSON logs (pino, ms timestamps) that
 * the controller and the agent write anyway, so it costs the timed path nothing:
 *
 *   request ─ controller "endpoint created" ─ agent "converging tenant namespace" ─
 *   agent "endpoint attached" ─ reply
 *
 * The second step is the agent reading its tenant namespace back (observe) and planning;
 * the third applies the kernel changes and reports the status. Log lines worded otherwise
 * (or a log level above info) just give no breakdown.
 */
import { readFileSync } from 'node:fs';
import { formatTable } from '../../src/base/table.js';
import { fmt, percentile } from './stats.js';

/** An attach as the benchmark saw it, in wall-clock ms (Date.now()), comparable with the logs. */
export interface Stamp {
  id: string;
  start: number;
  end: number;
}

interface Line {
  time: number;
  msg: string;
  endpoint?: string;
}

function readLog(path: string): Line[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  } catch {
    return [];
  }
}

const PHASES = ['request → controller stored it', 'agent reads its namespace back + plans', 'kernel changes + status report', 'reply'];

export function printBreakdown(stamps: Stamp[], controllerLog: string, agentLog: string): void {
  const created = new Map(readLog(controllerLog).filter((l) => l.msg === 'endpoint created').map((l) => [l.endpoint, l.time]));
  const attachedAt = new Map<string, { converging: number; attached: number }>();
  let converging: number | undefined;
  for (const l of readLog(agentLog)) {
    if (l.msg === 'converging tenant namespace') converging = l.time;
    if (l.msg === 'endpoint attached' && l.endpoint && converging !== undefined) attachedAt.set(l.endpoint, { converging, attached: l.time });
  }
  const rows = stamps.flatMap((s) => {
    const c = created.get(s.id);
    const a = attachedAt.get(s.id);
    return c !== undefined && a ? [[c - s.start, a.converging - c, a.attached - a.converging, s.end - a.attached]] : [];
  });
  if (rows.length === 0) {
    console.log('no breakdown: the logs lack the expected lines');
    return;
  }
  const q = Math.max(1, Math.floor(rows.length / 4));
  const p50 = (rs: number[][], i: number) => fmt(percentile(rs.map((r) => r[i]!), 50), 0);
  console.log(`\nwhere a tenet attach's time goes (${rows.length} attaches, from the controller and agent logs, 1 ms resolution)`);
  process.stdout.write(
    formatTable(
      ['phase', 'p50 ms', 'p50 first quarter', 'p50 last quarter'],
      PHASES.map((name, i) => [name, p50(rows, i), p50(rows.slice(0, q), i), p50(rows.slice(-q), i)]),
    ),
  );
}
