/**
 * HTTP over TCP (https, or plain http where a server allows it) or a unix socket, chosen by
 * the address: "https://host:port", "http://host:port" or "unix:/path/to.sock". JSON in and
 * out; an error body becomes a TenetError, and a connection that fails becomes `unreachable`
 * (a catalogued, user-facing error whose fix says what to do, never a stack trace).
 *
 * Over TCP a bearer token is sent when one is given, and an https server is verified against
 * `ca` (the controller's own CA) or the system's roots. Tenet's controller serves TCP over
 * https only, so a plain http address reaches nothing of ours but a proxy that allows it.
 *
 * The address may be a comma-separated list of controller replicas over one store (ADR 023).
 * The transport sticks to the replica that last answered and moves to the next one on a
 * connection failure, or on a 503 (that replica cannot reach the store, or is behind it).
 * What may be sent again to another replica: a request that never left (the connection was
 * refused, the TLS handshake failed), and after an ambiguous failure (reset, timeout, 503)
 * only an idempotent one: GET, HEAD, PUT, DELETE, and what the caller marks idempotent (a
 * POST carrying a caller-chosen id). When every replica failed, one `unreachable` line names
 * them all, each with its reason.
 */
import http from 'node:http';
import https from 'node:https';
import { fromWire, TenetError, type ErrorCode } from '../model/errors.js';

export interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: boolean;
}

export interface TransportOptions {
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` (not over unix sockets, where it means nothing). */
  token?: string;
  /** PEM of the CA that signed the server's certificate. */
  ca?: string;
  /**
   * Accept any server certificate. Only for fetching a CA whose hash the caller then checks
   * against a join token (src/cmd/join.ts); never for anything sent or believed otherwise.
   */
  trustAnyServer?: boolean;
}

export function parseAddress(address: string): Target {
  if (address.startsWith('unix:')) return { socketPath: address.slice('unix:'.length) };
  let url: URL;
  try {
    url = new URL(address.includes('://') ? address : `https://${address}`);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TenetError('BAD_REQUEST', `unsupported API address ${address}`, 'use https://host:port or unix:/path');
  const tls = url.protocol === 'https:';
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || (tls ? 443 : 80)), tls };
}

export interface RequestOptions {
  /**
   * Sending it twice does what sending it once does, so after a failure that may have
   * reached one replica (a reset, a timeout, a 503) it is sent to the next. Default: true
   * for GET, HEAD, PUT and DELETE, false otherwise.
   */
  idempotent?: boolean;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** The comma-separated replica addresses of one API (blanks dropped; at least one). */
export function splitAddresses(list: string): string[] {
  const all = list.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (all.length === 0) throw new TenetError('BAD_REQUEST', `no API address in ${JSON.stringify(list)}`, 'use https://host:port[,https://host2:port] or unix:/path');
  return all;
}

/** One replica: its address, where it is, and the keep-alive pool of its connections. */
interface Replica {
  address: string;
  target: Target;
  agent: http.Agent;
}

/** A request that got no answer; `sent`: it may have reached the server (so only an idempotent one is sent again). */
class NoAnswer extends Error {
  constructor(
    readonly cause: NodeJS.ErrnoException,
    readonly sent: boolean,
  ) {
    super(cause.message);
  }
}

export class Transport {
  private readonly replicas: Replica[];
  private readonly timeoutMs: number;
  /** The replica that answered last: requests go there first. */
  private current = 0;

  constructor(readonly address: string, private readonly unreachable: ErrorCode, private readonly opts: TransportOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.replicas = splitAddresses(address).map((a) => {
      const target = parseAddress(a);
      const agent = target.tls
        ? new https.Agent({ keepAlive: true, ca: opts.ca, rejectUnauthorized: !opts.trustAnyServer, minVersion: 'TLSv1.2' })
        : new http.Agent({ keepAlive: true });
      return { address: a, target, agent };
    });
  }

  /** The replica requests go to first (the one that answered last). */
  get currentAddress(): string {
    return this.replicas[this.current]!.address;
  }

  async request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const res = await this.exchange(method, path, body, this.timeoutMs, opts.idempotent ?? IDEMPOTENT_METHODS.has(method));
    const text = await readAll(res);
    const parsed = text ? safeJson(text) : undefined;
    if ((res.statusCode ?? 500) >= 400) throw fromWire(parsed, res.statusCode ?? 500);
    return (parsed === undefined && text ? text : parsed) as T;
  }

  /**
   * Opens a streaming GET; the caller reads lines from the response. The request timeout
   * covers only the wait for the response head (a replica that swallows packets is left
   * for the next one); the stream itself may then be quiet for as long as the caller allows.
   */
  stream(path: string): Promise<http.IncomingMessage> {
    return this.exchange('GET', path, undefined, this.timeoutMs, true, true);
  }

  close(): void {
    for (const r of this.replicas) r.agent.destroy();
  }

  /** Tries the replicas in turn from the current one; see the file comment for when it moves on. */
  private async exchange(method: string, path: string, body: unknown, timeout: number, idempotent: boolean, streaming = false): Promise<http.IncomingMessage> {
    const failed: string[] = [];
    let last: { err: NodeJS.ErrnoException; target: Target } | undefined;
    for (let i = 0; i < this.replicas.length; i++) {
      const index = (this.current + i) % this.replicas.length;
      const replica = this.replicas[index]!;
      const final = i === this.replicas.length - 1;
      try {
        const res = await this.send(replica, method, path, body, timeout, streaming);
        if (res.statusCode === 503 && idempotent && !final) {
          // This replica cannot serve now (its store is away, or it is behind): the next may.
          failed.push(`${replica.address} (503 ${await errorCodeOf(res)})`);
          continue;
        }
        this.current = index;
        return res;
      } catch (err) {
        if (!(err instanceof NoAnswer)) throw err;
        last = { err: err.cause, target: replica.target };
        failed.push(this.replicas.length > 1 ? `${replica.address} (${err.message})` : replica.address);
        if (err.sent && !idempotent && !final) {
          // It may have been applied: sending it elsewhere could apply it twice.
          throw new TenetError(this.unreachable, `no answer from ${replica.address} (${err.message}) after the ${method} was sent; not retried on another replica since it may have been applied`, 'check whether it took effect (list it), then retry');
        }
      }
    }
    throw this.unreachableError(failed, last!);
  }

  private unreachableError(failed: string[], last: { err: NodeJS.ErrnoException; target: Target }): TenetError {
    const what = this.replicas.length > 1 ? `cannot reach any of ${failed.join(', ')}` : `cannot reach ${failed[0]} (${last.err.message})`;
    return new TenetError(this.unreachable, what, this.hint(last.err, last.target));
  }

  private send(replica: Replica, method: string, path: string, body: unknown, timeout: number, streaming: boolean): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    if (this.opts.token && !replica.target.socketPath) headers.authorization = `Bearer ${this.opts.token}`;
    const { tls, ...where } = replica.target;
    const request = tls ? https.request : http.request;
    return new Promise((resolve, reject) => {
      let sent = false;
      const req = request({ ...where, agent: replica.agent, method, path, timeout: timeout || undefined, headers }, (res) => {
        if (streaming) req.setTimeout(0);
        resolve(res);
      });
      // Sent means: a connection was up (handshake done) when it failed, or a reused one,
      // which the server may have read before it closed.
      req.on('socket', (sock) => {
        if (req.reusedSocket) sent = true;
        else sock.once(tls ? 'secureConnect' : 'connect', () => (sent = true));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new NoAnswer(err as NodeJS.ErrnoException, sent)));
      req.end(payload);
    });
  }

  private hint(err: NodeJS.ErrnoException, target: Target): string {
    if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return "this address is not in the controller's certificate: use a name it has, or restart the controller with --tls-san NAME";
    if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(err.code)) {
      return "the controller's certificate is not trusted: pass --ca FILE or set TENET_CA to its CA (DATA_DIR/tls/ca.crt on the controller)";
    }
    if (target.tls === false && (err.code === 'ECONNRESET' || /hang up/.test(err.message))) return 'the controller serves TCP over https only: use https://HOST:PORT';
    return this.unreachable === 'AGENT_UNREACHABLE'
      ? 'is `tenet up` (or `tenet agent`) running on this host? Set TENET_AGENT or --agent to its socket'
      : 'is `tenet up` running? Set TENET_API or --api to the controller address (a comma-separated list for replicas)';
  }
}

/** The code of a JSON error answer, read whole (the connection is then free again). */
async function errorCodeOf(res: http.IncomingMessage): Promise<string> {
  const body = safeJson(await readAll(res)) as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : 'unavailable';
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
