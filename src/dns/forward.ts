/**
 * The forwarder of names outside a tenant's zone (issue 10, `net update --dns-upstream`).
 * Only a query the zone REFUSED comes here (answer.ts): a name of the tenant's zone is never
 * forwarded. It leaves from the agent's own namespace (the host's routing, not the tenant's:
 * a tenant namespace has no way out), over one UDP socket per agent, with a fresh random ID
 * per query so answers cannot be matched to the wrong client; the client's ID goes back on
 * the answer. An answer is accepted only from the upstream address and port asked, with the
 * pending ID and the same question. Bounded: at most MAX_PER_SOURCE queries in flight per
 * client address and MAX_IN_FLIGHT in all (beyond: SERVFAIL at once), each given up after
 * TIMEOUT_MS (SERVFAIL). Upstream answers are passed on as they are, up to the client's size.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';

export const UPSTREAM_PORT = 53;
export const TIMEOUT_MS = 2_000;
export const MAX_PER_SOURCE = 16;
export const MAX_IN_FLIGHT = 1_024;
/** Largest upstream answer passed on (the EDNS size a client is offered, wire.ts). */
const MAX_ANSWER_BYTES = 4_096;

export type ForwardResult = 'forwarded' | 'forward-timeout' | 'forward-busy' | 'forward-error';

interface Pending {
  clientId: number;
  source: string;
  upstream: string;
  question: string;
  timer: NodeJS.Timeout;
  done: (result: ForwardResult, answer?: Buffer) => void;
}

export interface ForwarderOptions {
  port?: number;
  timeoutMs?: number;
  maxPerSource?: number;
  maxInFlight?: number;
}

export class Forwarder {
  private socket?: dgram.Socket;
  private readonly pending = new Map<number, Pending>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly opts: ForwarderOptions = {}) {}

  /** The port queries leave from (tests spoof answers to it). */
  get localPort(): number | undefined {
    return this.socket?.address().port;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends `query` (a parsed, plain query) to `upstream`; `done` gets the answer with the
   * client's ID, or no answer (the caller replies SERVFAIL).
   */
  forward(query: Buffer, source: string, upstream: string, done: (result: ForwardResult, answer?: Buffer) => void): void {
    const held = this.perSource.get(source) ?? 0;
    if (held >= (this.opts.maxPerSource ?? MAX_PER_SOURCE) || this.pending.size >= (this.opts.maxInFlight ?? MAX_IN_FLIGHT)) return done('forward-busy');
    const id = this.freeId();
    const question = questionKey(query);
    if (id === undefined || question === undefined) return done('forward-busy');
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    const timer = setTimeout(() => this.finish(id, 'forward-timeout'), this.opts.timeoutMs ?? TIMEOUT_MS);
    this.pending.set(id, { clientId: query.readUInt16BE(0), source, upstream, question, timer, done });
    this.perSource.set(source, held + 1);
    this.open().send(out, this.opts.port ?? UPSTREAM_PORT, upstream, (err) => {
      if (err) this.finish(id, 'forward-error');
    });
  }

  close(): void {
    for (const id of [...this.pending.keys()]) this.finish(id, 'forward-error');
    this.socket?.close();
    this.socket = undefined;
  }

  private open(): dgram.Socket {
    if (this.socket) return this.socket;
    const s = dgram.createSocket('udp4');
    s.on('message', (msg, rinfo) => this.onAnswer(msg, rinfo));
    s.on('error', () => {}); // ICMP errors of one upstream: its queries time out
    this.socket = s;
    return s;
  }

  private onAnswer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12 || msg.length > MAX_ANSWER_BYTES || (msg.readUInt16BE(2) & 0x8000) === 0) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p || rinfo.address !== p.upstream || rinfo.port !== (this.opts.port ?? UPSTREAM_PORT)) return;
    if (questionKey(msg) !== p.question) return; // not the answer to our question: ignored, we keep waiting
    const answer = Buffer.from(msg);
    answer.writeUInt16BE(p.clientId, 0);
    this.finish(msg.readUInt16BE(0), 'forwarded', answer);
  }

  private finish(id: number, result: ForwardResult, answer?: Buffer): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    const held = (this.perSource.get(p.source) ?? 1) - 1;
    if (held > 0) this.perSource.set(p.source, held);
    else this.perSource.delete(p.source);
    p.done(result, answer);
  }

  private freeId(): number | undefined {
    for (let tries = 0; tries < 16; tries++) {
      const id = randomInt(0, 65_536);
      if (!this.pending.has(id)) return id;
    }
    return undefined;
  }
}

/** The question of a message, for matching an answer to its query: "name type class", lowercase. */
function questionKey(msg: Buffer): string | undefined {
  try {
    const q = dnsPacket.decode(msg).questions?.[0];
    return q ? `${q.name.toLowerCase()} ${q.type} ${q.class}` : undefined;
  } catch {
    return undefined;
  }
}
