/**
 * HTTP over TCP (https, or plain http where a server allows it) or a unix socket, chosen by
 * the address: "https://host:port", "http://host:port" or "unix:/path/to.sock". JSON in and
 * out; an error body becomes a TenetError, and a connection that fails becomes `unreachable`
 * (a catalogued, user-facing error whose fix says what to do, never a stack trace).
 *
 * Over TCP a bearer token is sent when one is given, and an https server is verified against
 * `ca` (the controller's own CA) or the system's roots. Tenet's controller serves TCP over
 * https only, so a plain http address reaches nothing of ours but a proxy that allows it.
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

export class Transport {
  private readonly target: Target;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(readonly address: string, private readonly unreachable: ErrorCode, private readonly opts: TransportOptions = {}) {
    this.target = parseAddress(address);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = this.target.tls
      ? new https.Agent({ keepAlive: true, ca: opts.ca, rejectUnauthorized: !opts.trustAnyServer, minVersion: 'TLSv1.2' })
      : new http.Agent({ keepAlive: true });
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await readAll(res);
    const parsed = text ? safeJson(text) : undefined;
    if ((res.statusCode ?? 500) >= 400) throw fromWire(parsed, res.statusCode ?? 500);
    return (parsed === undefined && text ? text : parsed) as T;
  }

  /** Opens a streaming GET; the caller reads lines from the response. */
  stream(path: string): Promise<http.IncomingMessage> {
    return this.send('GET', path, undefined, 0);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body: unknown, timeout = this.timeoutMs): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    if (this.opts.token && !this.target.socketPath) headers.authorization = `Bearer ${this.opts.token}`;
    const { tls, ...where } = this.target;
    const request = tls ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request({ ...where, agent: this.agent, method, path, timeout: timeout || undefined, headers }, resolve);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new TenetError(this.unreachable, `cannot reach ${this.address} (${err.message})`, this.hint(err as NodeJS.ErrnoException))));
      req.end(payload);
    });
  }

  private hint(err: NodeJS.ErrnoException): string {
    if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return "this address is not in the controller's certificate: use a name it has, or restart the controller with --tls-san NAME";
    if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(err.code)) {
      return "the controller's certificate is not trusted: pass --ca FILE or set TENET_CA to its CA (DATA_DIR/tls/ca.crt on the controller)";
    }
    if (this.target.tls === false && (err.code === 'ECONNRESET' || /hang up/.test(err.message))) return 'the controller serves TCP over https only: use https://HOST:PORT';
    return this.unreachable === 'AGENT_UNREACHABLE'
      ? 'is `tenet up` (or `tenet agent`) running on this host? Set TENET_AGENT or --agent to its socket'
      : 'is `tenet up` running? Set TENET_API or --api to the controller address';
  }
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
