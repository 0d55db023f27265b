/**
 * The DNS benchmark's UDP client, run as a child inside the workload namespace
 * (`ip netns exec NS node dns-load.js …`: Node cannot enter a namespace itself). It sends a
 * bounded burst: `--count` queries in all, `--inflight` outstanding at any time, each given up
 * after `--timeout-ms`, cycling through `--names` (a name, or `-x ADDRESS` for its PTR). It
 * prints one JSON line: per-query latencies (ms), rcodes, losses and the burst's wall time.
 * Its own start-up is outside the clock.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface LoadResult {
  latencies: number[];
  rcodes: Record<string, number>;
  lost: number;
  wallMs: number;
}

interface Options {
  server: string;
  count: number;
  inflight: number;
  timeoutMs: number;
  names: string[];
}

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : process.argv[i + 1];
  if (v === undefined) throw new Error(`dns-load: --${name} is required`);
  return v;
}

function question(name: string): { type: 'A' | 'PTR'; name: string } {
  if (!name.startsWith('-x ')) return { type: 'A', name };
  return { type: 'PTR', name: `${name.slice(3).split('.').reverse().join('.')}.in-addr.arpa` };
}

export function runLoad(o: Options): Promise<LoadResult> {
  const sock = dgram.createSocket('udp4');
  const pending = new Map<number, { t0: number; timer: NodeJS.Timeout }>();
  const result: LoadResult = { latencies: [], rcodes: {}, lost: 0, wallMs: 0 };
  let sent = 0;
  let done = 0;
  let nextId = Math.floor(Math.random() * 0xffff);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const finish = () => {
      result.wallMs = performance.now() - start;
      sock.close();
      resolve(result);
    };
    const settle = (id: number) => {
      const p = pending.get(id);
      if (!p) return undefined;
      clearTimeout(p.timer);
      pending.delete(id);
      done++;
      return p;
    };
    const sendNext = () => {
      if (sent >= o.count) return done >= o.count ? finish() : undefined;
      const id = (nextId = (nextId + 1) & 0xffff);
      const q = question(o.names[sent % o.names.length]!);
      sent++;
      const timer = setTimeout(() => {
        if (settle(id)) result.lost++;
        sendNext();
      }, o.timeoutMs);
      pending.set(id, { t0: performance.now(), timer });
      sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...q, class: 'IN' }] }), 53, o.server);
    };
    sock.on('message', (msg) => {
      const t = performance.now();
      if (msg.length < 4) return;
      const p = settle(msg.readUInt16BE(0));
      if (!p) return;
      result.latencies.push(t - p.t0);
      const rcode = (dnsPacket.decode(msg) as { rcode?: string }).rcode ?? 'NOERROR';
      result.rcodes[rcode] = (result.rcodes[rcode] ?? 0) + 1;
      sendNext();
    });
    sock.on('error', reject);
    sock.bind(0, () => {
      for (let i = 0; i < Math.min(o.inflight, o.count); i++) sendNext();
    });
  });
}

if (process.argv[1]?.endsWith('dns-load.js')) {
  const o: Options = {
    server: arg('server'),
    count: Number(arg('count')),
    inflight: Number(arg('inflight')),
    timeoutMs: Number(arg('timeout-ms')),
    names: arg('names').split(','),
  };
  runLoad(o).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
