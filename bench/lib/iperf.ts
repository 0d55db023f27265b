/**
 * One single-stream TCP measurement, the recipe of research/baseline.md section 1:
 * `iperf3 -s -1 -B <ip>` in the server namespace, `iperf3 -c <ip> -t 5 -J` in the client's,
 * the figure being end.sum_received.bits_per_second. The server is started in the
 * background, waited for (bounded), and killed by its PID if it is still there afterwards.
 */
import { waitFor } from '../../src/base/async.js';
import { background, inNs, sh, shMaybe } from './kernel.js';
import { withTimeout } from './main.js';

export interface Side {
  ns: string;
  ip: string;
}

export interface IperfResult {
  gbps: number;
  retransmits: number;
  /** iperf3's own CPU figures, % of one core: the sender's and the receiver's process. */
  cpuSender: number;
  cpuReceiver: number;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second: number };
    sum_sent?: { retransmits?: number };
    cpu_utilization_percent?: { host_total: number; remote_total: number };
  };
}

export async function iperf(client: Side, server: Side, seconds = 5): Promise<IperfResult> {
  const srv = background(inNs(server.ns, ['iperf3', '-s', '-1', '-B', server.ip]));
  try {
    const listening = async () => {
      const r = await shMaybe(inNs(server.ns, ['ss', '-Hltn', 'sport = :5201']));
      return r.stdout.includes('5201') || undefined;
    };
    await waitFor(listening, 5000, `iperf3 server in ${server.ns}`, 20);
    const limit = String(seconds + 20);
    const r = await sh(inNs(client.ns, ['timeout', limit, 'iperf3', '-c', server.ip, '-t', String(seconds), '-J']));
    const json = JSON.parse(r.stdout) as IperfJson;
    const bps = json.end?.sum_received?.bits_per_second;
    if (json.error || bps === undefined) throw new Error(`iperf3 ${client.ns} -> ${server.ip}: ${json.error ?? 'no result'}`);
    return {
      gbps: bps / 1e9,
      retransmits: json.end?.sum_sent?.retransmits ?? 0,
      cpuSender: json.end?.cpu_utilization_percent?.host_total ?? NaN,
      cpuReceiver: json.end?.cpu_utilization_percent?.remote_total ?? NaN,
    };
  } finally {
    await withTimeout(srv.exited, 3000, 'iperf3 server exit').catch(() => srv.stop());
  }
}
