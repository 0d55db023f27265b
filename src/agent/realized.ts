/**
 * The store revision this host has realized: every change up to it is in the kernel, or
 * needed nothing here. It advances only when the agent is idle (no change waiting, no
 * reconcile running) and no tenant namespace is failing, and is reported to the controller
 * at once, then at most every `delayMs` while changes keep coming, so `GET /v1/endpoints/:id/realized` can tell whether every host
 * has an endpoint. A failed port does not hold it back: it is reported on its endpoint.
 * A report that fails is sent again after RETRY_MS; a re-registration sends it again too
 * (resend), since a controller that lost its store lost the report with it.
 */
import type { SetResult } from '../datapath/datapath.js';

export const RETRY_MS = 1_000;

export class Realization {
  revision = 0;
  private readonly failing = new Set<string>();
  private timer?: NodeJS.Timeout;
  private lastReport = 0;
  private stopped = false;

  constructor(
    private readonly report: () => Promise<unknown>,
    private readonly delayMs = 50,
  ) {}

  /** `namespaces`: the ones the run covered; undefined for a full run (it covered all). */
  record(result: SetResult, namespaces?: string[]): void {
    if (!namespaces) this.failing.clear();
    for (const ns of namespaces ?? []) this.failing.delete(ns);
    for (const ns of result.failedNamespaces.keys()) this.failing.add(ns);
  }

  settle(cacheRevision: number, idle: boolean): void {
    if (!idle || this.failing.size > 0 || cacheRevision <= this.revision) return;
    this.revision = cacheRevision;
    if (this.timer) return; // a report is due already and will carry the newest revision
    this.send(Math.max(0, this.lastReport + this.delayMs - Date.now()));
  }

  /** Reports the revision again (after the host registered anew), if there is one. */
  resend(): void {
    if (this.revision > 0 && !this.timer) this.send(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private send(wait: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastReport = Date.now();
      this.report().catch(() => {
        if (!this.timer) this.send(RETRY_MS);
      });
    }, wait);
  }
}
