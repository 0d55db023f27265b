/**
 * What the benchmark and its simulated-agent processes say to each other over the IPC
 * channel of `fork`. Times are epoch milliseconds with sub-millisecond part
 * (performance.timeOrigin + performance.now()), comparable across processes of one machine.
 */
export interface SimHost {
  name: string;
  vtep: string;
}

export type ToSim =
  | { cmd: 'start'; tree: string; socket: string; hosts: SimHost[]; probes: string[]; startWidth: number }
  | { cmd: 'window' }
  | { cmd: 'counters' }
  | { cmd: 'relist'; host: string }
  | { cmd: 'stop' };

/** Per agent, since the last `window`: messages by type, and bytes (JSON length) for probes. */
export interface Counters {
  messages: Record<string, number>;
  bytes: number;
  /** Full lists (the first one, and every re-list after a cut-off or compaction). */
  lists: number;
  warnings: number;
}

export type FromSim =
  | { type: 'listed'; host: string; t: number; bytes: number; retries: number }
  | { type: 'marker'; host: string; id: string; t: number }
  | { type: 'counters'; counters: Record<string, Counters>; lastWarning?: string }
  | { type: 'relisted'; host: string; ms: number; bytes: number }
  | { type: 'failed'; error: string };

export const now = (): number => performance.timeOrigin + performance.now();

/** Endpoint ids of the changes whose arrival the simulated agents time. */
export const MARKER_PREFIX = 'mk-';
