/**
 * The headline figures of one `bench/scale.ts` run as JSON (`--json FILE`), so that
 * bench/cluster-scale.ts can put a SQLite run and an etcd run side by side in one table.
 */
import { writeFileSync } from 'node:fs';
import type { MarkerResult } from '../scale/markers.js';
import type { PopulateTimes } from '../scale/populate.js';
import type { Phase } from '../scale/report.js';
import { percentile } from './stats.js';

export interface ScaleSummary {
  store: string;
  controllers: number;
  endpointsPerSecond: number;
  statusUpSeconds: number;
  listedSeconds: number;
  fanoutP50Ms: number;
  fanoutP99Ms: number;
  fanoutComplete: string;
  markerApiP50Ms: number;
  attachEmptyP50Ms: number;
  attachFullP50Ms: number;
  relistMs: number[];
  /** The first controller's CPU mean % of one core and RSS peak MiB, per phase. */
  phases: { name: string; cpuMeanPct: number; rssPeakMiB: number }[];
}

export interface ScaleRun {
  store: { store: string; replicas: number };
  pops: PopulateTimes;
  listedMs: number;
  fanout: MarkerResult[];
  attachEmpty: { ms: number[] };
  attachFull?: { ms: number[] };
  relists?: { ms: number }[];
  phases: Phase[];
}

export function scaleSummary(r: ScaleRun): ScaleSummary {
  const ok = r.fanout.filter((m) => Number.isFinite(m.allMs)).map((m) => m.allMs);
  return {
    store: r.store.store,
    controllers: r.store.replicas,
    endpointsPerSecond: r.pops.endpoints / (r.pops.endpointsMs / 1000),
    statusUpSeconds: r.pops.statusMs / 1000,
    listedSeconds: r.listedMs / 1000,
    fanoutP50Ms: percentile(ok, 50),
    fanoutP99Ms: percentile(ok, 99),
    fanoutComplete: `${ok.length}/${r.fanout.length}`,
    markerApiP50Ms: percentile(r.fanout.map((m) => m.apiMs), 50),
    attachEmptyP50Ms: percentile(r.attachEmpty.ms, 50),
    attachFullP50Ms: r.attachFull ? percentile(r.attachFull.ms, 50) : NaN,
    relistMs: (r.relists ?? []).map((x) => x.ms),
    phases: r.phases.map((p) => ({ name: p.name, cpuMeanPct: p.figures?.cpuMeanPct ?? NaN, rssPeakMiB: p.figures?.rssPeakMiB ?? NaN })),
  };
}

export function writeScaleSummary(path: string, r: ScaleRun): void {
  writeFileSync(path, JSON.stringify(scaleSummary(r), null, 1));
}
