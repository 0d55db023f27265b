/**
 * The short-lived child that binds sockets inside a namespace for the agent (ADR 019). Node
 * cannot setns(2), so the agent starts this program under `nsenter --net=<ns>`; it binds
 * what the agent asks for (IPC message `{ sockets: [...] }`), sends each bound socket back
 * over the IPC channel (its descriptor travels by SCM_RIGHTS and stays bound in the
 * namespace it was made in), and exits. Builtins only: it starts in tens of milliseconds.
 * One message per socket: `{ key, ok: true }` with the handle, or `{ key, ok: false, error }`.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface SocketRequest {
  /** The caller's name for the socket; echoed back. */
  key: string;
  proto: 'udp' | 'tcp';
  address: string;
  port: number;
}

export type SocketReply = { key: string; ok: true } | { key: string; ok: false; error: string };

function bindUdp(r: SocketRequest): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    // SO_REUSEADDR: a new agent binds next to the socket the parker holds and takes over at once (ADR 024).
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', reject);
    s.bind({ address: r.address, port: r.port, exclusive: true }, () => resolve(s));
  });
}

function listenTcp(r: SocketRequest): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: r.address, port: r.port, exclusive: true, backlog: 128 }, () => resolve(s));
  });
}

function send(reply: SocketReply, handle?: dgram.Socket | net.Server): Promise<void> {
  return new Promise((resolve) => process.send!(reply, handle as net.Server, undefined, () => resolve()));
}

async function bindAll(requests: SocketRequest[]): Promise<void> {
  for (const r of requests) {
    try {
      const handle = r.proto === 'udp' ? await bindUdp(r) : await listenTcp(r);
      await send({ key: r.key, ok: true }, handle);
    } catch (err) {
      await send({ key: r.key, ok: false, error: (err as Error).message });
    }
  }
}

if (process.send) {
  process.once('message', (m: { sockets?: SocketRequest[] }) => {
    void bindAll(Array.isArray(m?.sockets) ? m.sockets : []).finally(() => process.exit(0));
  });
}
