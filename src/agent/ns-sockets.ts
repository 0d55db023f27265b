/**
 * Sockets inside a namespace, with no process left behind there (ADR 019; DESIGN.md
 * "Sockets inside a namespace"): a child started under `nsenter --net=<path>` binds them and
 * hands them over IPC (ns-socket-child.ts), then exits. The handed socket keeps its
 * namespace for life, so the agent serves every namespace from its own event loop. DNS uses
 * it; DHCP will (a request is just protocol, address, port).
 */
import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SocketReply, SocketRequest } from './ns-socket-child.js';

export type { SocketRequest } from './ns-socket-child.js';

const CHILD = fileURLToPath(new URL('./ns-socket-child.js', import.meta.url));
/** A child that has not answered by then is killed: its namespace is retried later. */
export const BIND_TIMEOUT_MS = 10_000;

export type BoundSocket = { key: string; ok: true; udp?: dgram.Socket; tcp?: net.Server } | { key: string; ok: false; error: string };

/**
 * Binds `requests` in the namespace at `netnsPath` (undefined: the agent's own namespace,
 * for tests) and resolves with one entry per request, in any order.
 */
export function bindInNamespace(netnsPath: string | undefined, requests: SocketRequest[]): Promise<BoundSocket[]> {
  const argv = netnsPath ? ['nsenter', `--net=${netnsPath}`, process.execPath, CHILD] : [process.execPath, CHILD];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const protoOf = new Map(requests.map((r) => [r.key, r.proto]));
  const bound: BoundSocket[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), BIND_TIMEOUT_MS);
    child.on('message', (m: SocketReply, handle?: dgram.Socket | net.Server) => {
      if (!m.ok) bound.push(m);
      else if (protoOf.get(m.key) === 'udp') bound.push({ key: m.key, ok: true, udp: handle as dgram.Socket });
      else bound.push({ key: m.key, ok: true, tcp: handle as net.Server });
    });
    child.on('error', (err) => reject(err));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const missing = requests.filter((r) => !bound.some((b) => b.key === r.key));
      const why = `socket child exited (${signal ?? code})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`;
      resolve([...bound, ...missing.map((r) => ({ key: r.key, ok: false as const, error: why }))]);
    });
    child.send({ sockets: requests });
  });
}
