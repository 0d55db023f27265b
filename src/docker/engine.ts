/**
 * A small client of the Docker Engine API over its unix socket (plain node:http, no
 * dependency): only what Tenet needs to keep Docker's networks in line with its own. Never
 * called from inside a plugin handler (dockerd may be waiting on that very handler: deadlock,
 * protocols.md §5.4); the network sync calls it, asynchronously.
 */
import http from 'node:http';
import { TenetError } from '../model/errors.js';

export const DEFAULT_DOCKER_SOCKET = '/run/docker.sock';
/** The API version dockerd 20.10 speaks; later daemons accept it too. */
const API = '/v1.41';

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Options: Record<string, string> | null;
  IPAM: { Driver: string; Config: { Subnet?: string; Gateway?: string }[] | null };
  Containers?: Record<string, unknown> | null;
}

export interface CreateDockerNetwork {
  Name: string;
  Driver: string;
  Options: Record<string, string>;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string }[] };
  CheckDuplicate: boolean;
}

export class DockerEngine {
  constructor(readonly socketPath: string = DEFAULT_DOCKER_SOCKET, private readonly timeoutMs = 10_000) {}

  ping = async (): Promise<boolean> => (await this.call('GET', '/_ping')).status === 200;
  version = async () => this.ok<{ Version: string; ApiVersion: string }>(await this.call('GET', `${API}/version`));

  async listNetworks(driver: string): Promise<DockerNetwork[]> {
    const filters = encodeURIComponent(JSON.stringify({ driver: [driver] }));
    return this.ok<DockerNetwork[]>(await this.call('GET', `${API}/networks?filters=${filters}`));
  }

  /** The network, or undefined when dockerd has no network of that id or name. */
  async inspectNetwork(idOrName: string): Promise<DockerNetwork | undefined> {
    const res = await this.call('GET', `${API}/networks/${encodeURIComponent(idOrName)}`);
    return res.status === 404 ? undefined : this.ok<DockerNetwork>(res);
  }

  async createNetwork(req: CreateDockerNetwork): Promise<string> {
    return this.ok<{ Id: string }>(await this.call('POST', `${API}/networks/create`, req)).Id;
  }

  /** Removes a network; false when dockerd had none of that id (already gone). */
  async removeNetwork(id: string): Promise<boolean> {
    const res = await this.call('DELETE', `${API}/networks/${encodeURIComponent(id)}`);
    if (res.status === 404) return false;
    this.ok(res);
    return true;
  }

  private ok<T>(res: { status: number; body: unknown }): T {
    if (res.status < 300) return res.body as T;
    const message = (res.body as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`;
    throw new DockerApiError(res.status, message);
  }

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socketPath, method, path, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // /_ping answers plain "OK"
          }
          resolve({ status: res.statusCode ?? 500, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new TenetError('DOCKER_UNREACHABLE', `cannot reach dockerd at ${this.socketPath} (${err.message})`, 'is dockerd running? Give its socket with --docker-socket')));
      req.end(payload);
    });
  }
}

/** An answer of dockerd that is not a success: its status and its message. */
export class DockerApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'DockerApiError';
  }
}
