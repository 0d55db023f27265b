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
import { bindInNamespace, type SocketRequest } from './ns-sockets.js';

/** A namespace whose bind failed (its address not up yet) is tried again after this. */
const RETRY_MS = 1_000;

export interface WantedServer {
  /** Unique among the service's servers; names it in logs. */
  key: string;
  /** The tenant namespace's name (under /run/netns). */
  ns: string;
  /** Its sockets; keys unique within the namespace. */
  requests: SocketRequest[];
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
  /** Serves `w` on its sockets, in the order of `w.requests`. */
  start(w: W, sockets: Bound[]): S;
  bind?: typeof bindInNamespace;
  /** After a sync that left every wanted server running (the socket handoff waits for it). */
  onComplete?(): void;
}

interface Running<W, S> {
  wanted: W;
  server: S;
  sockets: Bound[];
  nsId: string;
}

export class NamespaceServers<W extends WantedServer, S extends { close(): void }> {
  private readonly running = new Map<string, Running<W, S>>();
  private readonly syncer: CoalescedRunner;
  private retry?: NodeJS.Timeout;
  private stopped = false;
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
    const byNs = new Map<string, W[]>();
    for (const w of missing) byNs.set(w.ns, [...(byNs.get(w.ns) ?? []), w]);
    const results = await Promise.all([...byNs].map(([ns, ws]) => this.bindNamespace(ns, nsIds.get(ns)!, ws)));
    if (this.stopped) return;
    if (results.includes(false)) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.request(), RETRY_MS);
    } else if (wanted.every((w) => this.running.has(w.key))) {
      this.hooks.onComplete?.();
    }
  }

  /** Binds the servers of `ws` (all in `ns`); false when any could not be bound. */
  private async bindNamespace(ns: string, nsId: string, ws: W[]): Promise<boolean> {
    const started = performance.now();
    const bound = await (this.hooks.bind ?? bindInNamespace)(`${NETNS_DIR}/${ns}`, ws.flatMap((w) => w.requests));
    this.bindMs.set(ns, Math.round(performance.now() - started));
    const byKey = new Map(bound.map((b) => [b.key, b]));
    let ok = true;
    for (const w of ws) {
      const got = w.requests.map((r) => byKey.get(r.key));
      const sockets = got.map((b): Bound => (b?.ok ? { udp: b.udp, tcp: b.tcp } : {}));
      if (this.stopped || got.some((b) => !b?.ok)) {
        for (const s of sockets) closeBound(s);
        const error = got.map((b) => (b && !b.ok ? b.error : '')).filter((e) => e).join('; ');
        // Before the first reconcile of a new tenant its gateway address is not there yet: expected.
        const level = /EADDRNOTAVAIL/.test(error) ? 'info' : 'warn';
        if (!this.stopped) this.hooks.logger[level]({ server: w.key, err: error || 'no socket' }, `${this.hooks.name} server not bound; retrying`);
        ok = false;
        continue;
      }
      this.running.get(w.key)?.server.close();
      this.running.set(w.key, { wanted: w, server: this.hooks.start(w, sockets), sockets, nsId });
      this.hooks.logger.info({ server: w.key, ns }, `${this.hooks.name} server listening`);
    }
    return ok;
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
