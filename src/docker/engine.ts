/**
 * A minimal Docker Engine API client over dockerd's unix socket (plain node:http, no
 * dependency): the few reads the event monitor and `tenet attach <container>` need, and the
 * /events stream. Never called from inside a plugin handler (that deadlocks dockerd).
 */
import { request, type IncomingMessage } from 'node:http';
import { TenetError } from '../model/errors.js';

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
}

/** One message of the /events stream (the fields we read). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
const TIMEOUT_MS = 10_000;

export class DockerEngine {
  constructor(readonly socketPath: string = DEFAULT_DOCKER_SOCKET) {}

  /** Running containers (all: stopped ones too). */
  listContainers(all = false): Promise<ContainerSummary[]> {
    return this.json<ContainerSummary[]>(`/containers/json${all ? '?all=1' : ''}`);
  }

  /** One container by id, short id or name; CONTAINER_NOT_FOUND when dockerd knows none. */
  async inspect(idOrName: string): Promise<ContainerInspect> {
    try {
      return await this.json<ContainerInspect>(`/containers/${encodeURIComponent(idOrName)}/json`);
    } catch (err) {
      if (err instanceof DockerStatusError && err.status === 404) {
        throw new TenetError('CONTAINER_NOT_FOUND', `no container ${JSON.stringify(idOrName.slice(0, 80))} on this host's dockerd`, 'check the id or name with docker ps');
      }
      throw err;
    }
  }

  /**
   * Streams container events (the given actions) to `onEvent` until the stream ends or
   * `signal` aborts; resolves then. Rejects when dockerd cannot be reached. `onOpen` runs
   * once the stream is established: a caller lists after subscribing, so nothing falls between.
   */
  events(actions: string[], onEvent: (e: DockerEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: actions }));
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path: `/events?filters=${filters}`, method: 'GET', signal }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new DockerStatusError(res.statusCode ?? 0, `GET /events answered ${res.statusCode}`));
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
      req.on('error', (err) => (signal.aborted ? resolve() : reject(unreachable(this.socketPath, err))));
      req.end();
    });
  }

  private json<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET', timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new DockerStatusError(res.statusCode ?? 0, `GET ${path} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`dockerd did not answer GET ${path} within ${TIMEOUT_MS} ms`)));
      req.on('error', (err) => reject(err instanceof DockerStatusError ? err : unreachable(this.socketPath, err)));
      req.end();
    });
  }
}

export class DockerStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function unreachable(socket: string, err: Error): TenetError {
  return new TenetError('DOCKER_UNREACHABLE', `cannot reach dockerd at ${socket}: ${err.message}`, 'start dockerd, or point the agent at its socket with --docker-socket');
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
