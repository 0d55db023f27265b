/**
 * Test support for issue 7's connectivity matrix: a TCP listener per workload namespace (accepts
 * and closes, on a few ports) and a prober that opens many bounded connects at once from one
 * namespace, so a 6x6 matrix costs one process per source instead of one per cell. A connect
 * ends as `open` (handshake done), `refused` (a RST: a `reject` rule, or no listener), `timeout`
 * (the SYN was dropped: `deny`) or `unreachable` (an ICMP error). Only namespaces the test made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { ExecRunner } from '../../src/datapath/runner.js';
import { PYTHON } from '../../src/datapath/testing/traffic.js';

export type TcpOutcome = 'open' | 'refused' | 'timeout' | 'unreachable' | 'error';

const LISTENER = `
import selectors, socket, sys
sel = selectors.DefaultSelector()
for p in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(p))); s.listen(128); s.setblocking(False); sel.register(s, selectors.EVENT_READ)
print('ready', flush=True)
while True:
    for key, _ in sel.select():
        try: key.fileobj.accept()[0].close()
        except OSError: pass
`;

const PROBER = `
import errno, json, selectors, socket, sys, time
limit, targets = float(sys.argv[1]), sys.argv[2:]
def outcome(e):
    if e == 0: return 'open'
    if e == errno.ECONNREFUSED: return 'refused'
    if e in (errno.EHOSTUNREACH, errno.ENETUNREACH): return 'unreachable'
    return 'error'
out, sel = ['timeout'] * len(targets), selectors.DefaultSelector()
for i, t in enumerate(targets):
    ip, port = t.rsplit(':', 1); s = socket.socket(); s.setblocking(False)
    e = s.connect_ex((ip, int(port)))
    if e == errno.EINPROGRESS: sel.register(s, selectors.EVENT_WRITE, i)
    else: out[i] = outcome(e); s.close()
end = time.monotonic() + limit
while sel.get_map() and end > time.monotonic():
    for key, _ in sel.select(end - time.monotonic()):
        out[key.data] = outcome(key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        sel.unregister(key.fileobj); key.fileobj.close()
print(json.dumps(out))
`;

/** Listeners started by this test, stopped by `stop()` (bounded by `timeout` should a test die). */
export class TcpListeners {
  private readonly procs: ChildProcess[] = [];

  /** Listens on `ports` in namespace `ns`; resolves once every port is bound. */
  async start(ns: string, ports: number[]): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', ns, 'timeout', '900', PYTHON, '-c', LISTENER, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.procs.push(p);
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await Promise.race([
      (async () => {
        while (!out.includes('ready')) await once(p.stdout!, 'data');
      })(),
      once(p, 'exit').then(([code]) => Promise.reject(new Error(`tcp listener in ${ns} exited (${String(code)})`))),
    ]);
  }

  stop(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
  }
}

/** One bounded connect (≤ `limitS` seconds) from namespace `ns` to each `ip:port`, all at once. */
export async function probeTcp(runner: ExecRunner, ns: string, targets: { ip: string; port: number }[], limitS = 1): Promise<TcpOutcome[]> {
  if (targets.length === 0) return [];
  const argv = ['ip', 'netns', 'exec', ns, 'timeout', String(limitS + 10), PYTHON, '-c', PROBER, String(limitS), ...targets.map((t) => `${t.ip}:${t.port}`)];
  const r = await runner.run(argv);
  return JSON.parse(r.stdout.trim()) as TcpOutcome[];
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of the results. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
