/**
 * A small client of the Docker Engine API over its unix socket (plain node:http, no
 * dependency): only what Tenet needs: keeping Docker's networks in line with its own (the
 * network sync), and the container reads and /events stream of the event monitor and
 * `tenet attach <container>`. Never called from inside a plugin handler (dockerd may be
 * waiting on that very handler: deadlock, protocols.md §5.4).
 */
import http, { type IncomingMessage } from 'node:http';
import { TenetError } from '../model/errors.js';

export const DEFAULT_DOCKER_SOCKET = '/run/docker.sock';
/** The API version dockerd 20.10 speaks; later daemons accept it too. */
const API = '/v1.41';

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Options: Record<string, string> | null;
  /** `docker network create --internal`. */
  Internal?: boolean;
  IPAM: { Driver: string; Config: { Subnet?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }[] | null };
  Containers?: Record<string, unknown> | null;
}

export interface CreateDockerNetwork {
  Name: string;
  Driver: string;
  Options: Record<string, string>;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string }[]; Options?: Record<string, string> };
  CheckDuplicate: boolean;
}

/** What GET /containers/json answers per container (the fields we read). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string> | null;
}

/** What GET /containers/{id}/json answers (the fields we read). */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: { Running: boolean; Pid: number };
  Config: { Env: string[] | null; Labels: Record<string, string> | null };
  HostConfig?: { NetworkMode?: string };
  /** Per docker network the container is on: its EndpointID is a Tenet endpoint's id when the network is Tenet's. */
  NetworkSettings?: { Networks?: Record<string, { NetworkID?: string; EndpointID?: string }> | null };
}

/** One message of the /events stream (the fields we read). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
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

  /** Running containers (all: stopped ones too). */
  async listContainers(all = false): Promise<ContainerSummary[]> {
    return this.ok<ContainerSummary[]>(await this.call('GET', `${API}/containers/json${all ? '?all=1' : ''}`));
  }

  /** One container by id, short id or name; CONTAINER_NOT_FOUND when dockerd knows none. */
  async inspect(idOrName: string): Promise<ContainerInspect> {
    const res = await this.call('GET', `${API}/containers/${encodeURIComponent(idOrName)}/json`);
    if (res.status === 404) throw new TenetError('CONTAINER_NOT_FOUND', `no container ${JSON.stringify(idOrName.slice(0, 80))} on this host's dockerd`, 'check the id or name with docker ps');
    return this.ok<ContainerInspect>(res);
  }

  /**
   * Streams events of the given types (containers by default) and actions to `onEvent` until the stream ends or
   * `signal` aborts; resolves then. Rejects when dockerd cannot be reached. `onOpen` runs
   * once the stream is established: a caller lists after subscribing, so nothing falls between.
   */
  events(actions: string[], onEvent: (e: DockerEvent) => void, signal: AbortSignal, onOpen?: () => void, types: string[] = ['container']): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ type: types, event: actions }));
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socketPath, path: `${API}/events?filters=${filters}`, method: 'GET', signal }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new DockerApiError(res.statusCode ?? 0, `GET /events answered ${res.statusCode}`));
          return;
        }
        onOpen?.();
        readLines(res, (line) => {
          try {
            onEvent(JSON.parse(line) as DockerEvent);
          } catch {
            /* a line that is not JSON is not an event we act on */
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(this.unreachable(err))));
      req.end();
    });
  }

  private unreachable(err: Error): TenetError {
    return new TenetError('DOCKER_UNREACHABLE', `cannot reach dockerd at ${this.socketPath} (${err.message})`, 'is dockerd running? Give its socket with --docker-socket');
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
      req.on('error', (err) => reject(this.unreachable(err)));
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

/** Splits a chunked body into lines (dockerd sends one JSON object per line). */
function readLines(res: IncomingMessage, onLine: (line: string) => void): void {
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
    }
    if (buffer.length > 1 << 20) buffer = ''; // a runaway line is not an event
  });
}
