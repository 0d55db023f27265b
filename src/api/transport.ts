/**
 * HTTP over TCP or a unix socket, chosen by the address: "http://host:port" or
 * "unix:/path/to.sock". JSON in and out; an error body becomes a TenetError, and a refused
 * connection becomes `unreachable` (a catalogued, user-facing error, never a stack trace).
 */
import http from 'node:http';
import { fromWire, TenetError, type ErrorCode } from '../model/errors.js';

export interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseAddress(address: string): Target {
  if (address.startsWith('unix:')) return { socketPath: address.slice('unix:'.length) };
  const url = new URL(address.includes('://') ? address : `http://${address}`);
  if (url.protocol !== 'http:') throw new TenetError('BAD_REQUEST', `unsupported API address ${address}`, 'use http://host:port or unix:/path');
  return { host: url.hostname, port: Number(url.port || 80) };
}

export class Transport {
  private readonly target: Target;
  private readonly agent: http.Agent;

  constructor(readonly address: string, private readonly unreachable: ErrorCode, private readonly timeoutMs = 30_000) {
    this.target = parseAddress(address);
    this.agent = new http.Agent({ keepAlive: true });
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await readAll(res);
    const parsed = text ? safeJson(text) : undefined;
    if ((res.statusCode ?? 500) >= 400) throw fromWire(parsed, res.statusCode ?? 500);
    return parsed as T;
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
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          ...this.target,
          agent: this.agent,
          method,
          path,
          timeout: timeout || undefined,
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new TenetError(this.unreachable, `cannot reach ${this.address} (${err.message})`, this.hint())));
      req.end(payload);
    });
  }

  private hint(): string {
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
