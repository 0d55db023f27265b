/**
 * Makes the kernel's DHCP flood drops visible (issue 10: floods "are dropped and counted,
 * visible in logs/metrics"). A port that sends DHCP from 0.0.0.0 faster than its share is
 * limited in the bridge table (src/datapath/nft.ts, DHCP_FLOOD), before the agent sees a
 * packet, so the agent's own counts (src/dhcp/stats.ts) never see those drops. The rule
 * counts them in a named counter; this reads it with ONE `nft -j list counter` per tenant
 * namespace on a slow timer (no per-packet work), keeps a running total per tenant, and logs
 * one warn line per tenant, at a bounded rate, when it rose.
 *
 * The kernel counter restarts at 0 when the bridge table is replaced (a new namespace, a
 * structure change): a value below the last one seen counts as all new.
 */
import { jittered } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { DHCP_FLOOD } from '../datapath/nft.js';
import { NFT_TABLE } from '../datapath/names.js';
import { NETNS_DIR } from '../datapath/observe.js';
import type { CommandRunner } from '../datapath/runner.js';

export interface FloodTenant {
  tenant: string;
  ns: string;
}

export interface DhcpFloodOptions {
  runner: CommandRunner;
  logger: Logger;
  /** The tenant namespaces to read (the DHCP service's). */
  tenants: () => FloodTenant[];
  /** How often the counters are read. */
  everyMs?: number;
  /** At most one warn line per tenant per this. */
  logEveryMs?: number;
  now?: () => number;
}

/**
 * Each read starts one `nft` process per tenant namespace: 30 s apart, each period drawn
 * between 1 and 1.25 times it, so agents started together do not spawn at the same moment.
 * At 10 s, aligned, these reads showed in the policy update tail (p95 67-72 against 51-54 ms
 * without them, docs/benchmarks.md "Policy").
 */
const POLL_MS = 30_000;
const LOG_MS = 60_000;

/** The packets of the bridge table's dhcp-flood counter in `nft -j list counter` output, if there. */
export function floodCounterPackets(json: string): number | undefined {
  try {
    const items = (JSON.parse(json) as { nftables?: { counter?: { name?: string; table?: string; packets?: number } }[] }).nftables ?? [];
    const c = items.map((i) => i.counter).find((x) => x?.name === DHCP_FLOOD.counter && x.table === NFT_TABLE);
    return typeof c?.packets === 'number' ? c.packets : undefined;
  } catch {
    return undefined;
  }
}

export class DhcpFloodWatch {
  /** DHCP packets the kernel dropped as floods, per tenant, since this agent started. */
  readonly dropped = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private readonly unlogged = new Map<string, number>();
  private readonly lastLog = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private stopped = false;

  constructor(private readonly opts: DhcpFloodOptions) {}

  start(): void {
    this.stopped = false;
    if (!this.timer) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const base = this.opts.everyMs ?? POLL_MS;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
      if (!this.stopped) this.schedule();
    }, jittered(base)).unref();
  }

  /** Every tenant's drops together. */
  get total(): number {
    return [...this.dropped.values()].reduce((a, b) => a + b, 0);
  }

  /** Reads each tenant namespace's counter once; a poll still running is not overlapped. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const t of this.opts.tenants()) await this.read(t);
    } finally {
      this.polling = false;
    }
  }

  private async read({ tenant, ns }: FloodTenant): Promise<void> {
    const argv = ['nsenter', `--net=${NETNS_DIR}/${ns}`, 'nft', '-j', 'list', 'counter', 'bridge', NFT_TABLE, DHCP_FLOOD.counter];
    const r = await this.opts.runner.run(argv, { allowFail: true }).catch(() => undefined);
    const packets = r?.code === 0 ? floodCounterPackets(r.stdout) : undefined;
    if (packets === undefined) return; // no namespace or table yet: nothing dropped there
    const last = this.seen.get(ns) ?? 0;
    const rise = packets >= last ? packets - last : packets;
    this.seen.set(ns, packets);
    if (rise > 0) this.rose(tenant, rise);
  }

  private rose(tenant: string, rise: number): void {
    this.dropped.set(tenant, (this.dropped.get(tenant) ?? 0) + rise);
    this.unlogged.set(tenant, (this.unlogged.get(tenant) ?? 0) + rise);
    const now = (this.opts.now ?? (() => performance.now()))();
    if (now - (this.lastLog.get(tenant) ?? -Infinity) < (this.opts.logEveryMs ?? LOG_MS)) return;
    this.lastLog.set(tenant, now);
    const since = this.unlogged.get(tenant)!;
    this.unlogged.delete(tenant);
    this.opts.logger.warn({ tenant, dropped: since, total: this.dropped.get(tenant) }, 'DHCP flood from unconfigured ports dropped by the kernel (per-port limit; count since the last such line)');
  }
}
