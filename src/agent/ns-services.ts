/**
 * What DNS and DHCP share (issue 10): servers on sockets inside tenant namespaces, kept in
 * line with the agent's cache. After each reconcile (which made the namespaces and gateway
 * addresses) `request` binds what is missing, one short-lived child per namespace
 * (ns-sockets.ts, ADR 019), and closes what is no longer wanted. A server is keyed by the
 * namespace's identity too, so a tenant namespace made again under the same name gets new
 * sockets; a failed bind (an address not up yet) is retried after a second. The services
 * say only what they want bound (`wanted`) and how to serve it (`start`).
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { CoalescedRunner } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { NETNS_DIR } from '../datapath/observe.js';
import { identityText, namespaceIdentity } from '../datapath/ns-identity.js';
import { bindInNamespace, type BoundSocket, type SocketRequest } from './ns-sockets.js';

/** A namespace whose bind failed (its address not up yet) is tried again after this. */
const RETRY_MS = 1_000;
/**
 * A server running without an optional socket tries it again after this: the parker of the
 * previous agent holds that TCP listener until this agent's UDP servers all run (ADR 024).
 */
const LATE_RETRY_MS = 200;
const LATE_RETRY_MAX_MS = 10_000;

/**
 * `optional`: the server starts without it and gets it later (`attach`): the DNS TCP listener,
 * whose port the parker of a restarting agent holds until the new agent serves UDP (ADR 024).
 */
export type ServiceRequest = SocketRequest & { optional?: boolean };

export interface WantedServer {
  /** Unique among the service's servers; names it in logs. */
  key: string;
  /** The tenant namespace's name (under /run/netns). */
  ns: string;
  /** Its sockets; keys unique within the namespace. */
  requests: ServiceRequest[];
}

/** A request's socket, bound: exactly one of the two, as its protocol says. */
export interface Bound {
  udp?: dgram.Socket;
  tcp?: net.Server;
}

export interface NsServiceHooks<W extends WantedServer, S extends { close(): void }> {
  /** "DNS", "DHCP": in log lines. */
  name: string;
  logger: Logger;
  wanted(): W[];
  /** Serves `w` on its sockets, in the order of `w.requests` (an optional one may be empty). */
  start(w: W, sockets: Bound[]): S;
  /** Gives a running server the optional socket it started without (index in `w.requests`). */
  attach?(server: S, index: number, socket: Bound): void;
  bind?: typeof bindInNamespace;
  /** After a sync that left every wanted server running (the socket handoff waits for it). */
  onComplete?(): void;
}

interface Running<W, S> {
  wanted: W;
  server: S;
  sockets: Bound[];
  nsId: string;
  /** Indexes of the optional requests not bound yet. */
  late: number[];
}

export class NamespaceServers<W extends WantedServer, S extends { close(): void }> {
  private readonly running = new Map<string, Running<W, S>>();
  private readonly syncer: CoalescedRunner;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private lateTries = 0;
  /** How long the last bind of each namespace took, in ms (ADR 019 measures it). */
  readonly bindMs = new Map<string, number>();

  constructor(private readonly hooks: NsServiceHooks<W, S>) {
    this.syncer = new CoalescedRunner(() => this.sync(), (err) => hooks.logger.error({ err: err.message }, `${hooks.name} sync failed; will retry on the next reconcile`));
  }

  /** Brings the servers in line with `wanted()`, in the background (coalesced). */
  request(): void {
    if (!this.stopped) this.syncer.request();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const r of this.running.values()) r.server.close();
    this.running.clear();
  }

  get keys(): string[] {
    return [...this.running.keys()].sort();
  }

  /** The running servers with their sockets (the handoff parks the UDP ones). */
  get servers(): { wanted: W; server: S; sockets: Bound[] }[] {
    return [...this.running.values()];
  }

  private async sync(): Promise<void> {
    const wanted = this.hooks.wanted();
    const nsIds = new Map<string, string | undefined>();
    for (const ns of new Set(wanted.map((w) => w.ns))) nsIds.set(ns, await namespaceIdentity(`${NETNS_DIR}/${ns}`).then(identityText, () => undefined));
    const keep = new Set(wanted.filter((w) => this.running.get(w.key)?.nsId === nsIds.get(w.ns)).map((w) => w.key));
    for (const [key, r] of this.running) {
      if (keep.has(key)) continue;
      r.server.close();
      this.running.delete(key);
    }
    const missing = wanted.filter((w) => !keep.has(w.key) && nsIds.get(w.ns) !== undefined);
    const late = [...this.running.values()].filter((r) => r.late.length > 0);
    const byNs = new Map<string, { ws: W[]; late: Running<W, S>[] }>();
    const of = (ns: string) => byNs.get(ns) ?? byNs.set(ns, { ws: [], late: [] }).get(ns)!;
    for (const w of missing) of(w.ns).ws.push(w);
    for (const r of late) of(r.wanted.ns).late.push(r);
    const results = await Promise.all([...byNs].map(([ns, { ws, late }]) => this.bindNamespace(ns, nsIds.get(ns)!, ws, late)));
    if (this.stopped) return;
    const incomplete = [...this.running.values()].some((r) => r.late.length > 0);
    if (wanted.every((w) => this.running.has(w.key))) this.hooks.onComplete?.();
    this.lateTries = incomplete ? this.lateTries + 1 : 0;
    if (results.includes(false) || incomplete) {
      clearTimeout(this.retry);
      // Late sockets: soon at first (the parker goes right after onComplete), then slower, so a port held by someone else costs little.
      this.retry = setTimeout(() => this.request(), results.includes(false) ? RETRY_MS : Math.min(LATE_RETRY_MS * this.lateTries, LATE_RETRY_MAX_MS));
    }
  }

  /**
   * Binds the servers of `ws` (all in `ns`) and the optional sockets `late` servers still
   * lack; false when a server could not be started (a required socket failed).
   */
  private async bindNamespace(ns: string, nsId: string, ws: W[], late: Running<W, S>[]): Promise<boolean> {
    const started = performance.now();
    const lateRequests = late.flatMap((r) => r.late.map((i) => r.wanted.requests[i]!));
    const bound = await (this.hooks.bind ?? bindInNamespace)(`${NETNS_DIR}/${ns}`, [...ws.flatMap((w) => w.requests), ...lateRequests]);
    this.bindMs.set(ns, Math.round(performance.now() - started));
    const byKey = new Map(bound.map((b) => [b.key, b]));
    for (const r of late) this.attachLate(r, byKey);
    let ok = true;
    for (const w of ws) {
      const got = w.requests.map((r) => byKey.get(r.key));
      const sockets = got.map((b): Bound => (b?.ok ? { udp: b.udp, tcp: b.tcp } : {}));
      const failed = got.flatMap((b, i) => (b?.ok ? [] : [i]));
      if (this.stopped || failed.some((i) => !w.requests[i]!.optional)) {
        for (const s of sockets) closeBound(s);
        const error = got.map((b) => (b && !b.ok ? b.error : '')).filter((e) => e).join('; ');
        // Before the first reconcile of a new tenant its gateway address is not there yet: expected.
        const level = /EADDRNOTAVAIL/.test(error) ? 'info' : 'warn';
        if (!this.stopped) this.hooks.logger[level]({ server: w.key, err: error || 'no socket' }, `${this.hooks.name} server not bound; retrying`);
        ok = false;
        continue;
      }
      this.running.get(w.key)?.server.close();
      this.running.set(w.key, { wanted: w, server: this.hooks.start(w, sockets), sockets, nsId, late: failed });
      const lacking = failed.map((i) => w.requests[i]!.key);
      this.hooks.logger.info({ server: w.key, ns, ...(lacking.length ? { later: lacking } : {}) }, `${this.hooks.name} server listening`);
    }
    return ok;
  }

  /** Hands a running server the optional sockets that are bound now; the rest wait for the next try. */
  private attachLate(r: Running<W, S>, byKey: Map<string, BoundSocket>): void {
    r.late = r.late.filter((i) => {
      const b = byKey.get(r.wanted.requests[i]!.key);
      if (!b?.ok) return true;
      const socket = { udp: b.udp, tcp: b.tcp };
      if (this.stopped || !this.hooks.attach) {
        closeBound(socket);
        return true;
      }
      r.sockets[i] = socket;
      this.hooks.attach(r.server, i, socket);
      this.hooks.logger.info({ server: r.wanted.key, socket: r.wanted.requests[i]!.key }, `${this.hooks.name} server complete: its late socket is bound`);
      return false;
    });
  }
}

function closeBound(s: Bound): void {
  try {
    s.udp?.close();
  } catch {
    // closed already
  }
  s.tcp?.close();
}
