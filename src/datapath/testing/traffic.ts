/**
 * Real traffic for the kernel tests of issue 7, bounded in time and volume: a paced TCP
 * transfer whose receiver logs when bytes arrive (to see whether a ruleset change cut it),
 * and an iperf3 measurement (to see a rate limit). Only between namespaces the test made.
 */
import { spawn } from 'node:child_process';
import type { ExecRunner } from '../runner.js';

/** The system's interpreter: starts fast (no version-manager shim) and has apt's modules (scapy). */
export const PYTHON = '/usr/bin/python3';

/** Receiver: accepts one connection, prints the wall time (s) of every chunk as JSON at the end. */
const RECEIVER = `
import json, socket, sys, time
ip, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((ip, port)); s.listen(1)
s.settimeout(limit); c, _ = s.accept(); end = time.time() + limit - 4; seen = []
c.settimeout(0.2)
while time.time() < end:
    try:
        b = c.recv(65536)
        if not b: break
        seen.append(time.time())
    except socket.timeout:
        pass
print(json.dumps(seen))
`;

/** Sender: 8 KB every 5 ms (~13 Mbit/s) for \`seconds\`; a dead path just stops it. */
const SENDER = `
import socket, sys, time
ip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for attempt in range(30):
    try: c = socket.create_connection((ip, port), timeout=3); break
    except OSError: time.sleep(0.1)
c.settimeout(0.5); end = time.time() + seconds
while time.time() < end:
    try: c.send(b'x' * 8192)
    except (socket.timeout, BlockingIOError): pass
    except OSError: break
    time.sleep(0.005)
`;

export interface Transfer {
  /** Wall times (s) at which the receiver got bytes; resolves when the transfer window ends. */
  arrivals: Promise<number[]>;
}

/** Starts a paced transfer from `from` to `ip:port` in `to` for `seconds`. */
export async function startTransfer(runner: ExecRunner, from: string, to: string, ip: string, port: number, seconds: number): Promise<Transfer> {
  const receiver = runner.run(['ip', 'netns', 'exec', to, 'timeout', String(seconds + 15), PYTHON, '-c', RECEIVER, ip, String(port), String(seconds + 5)]);
  for (let i = 0; i < 200; i++) {
    const ss = await runner.run(['ip', 'netns', 'exec', to, 'ss', '-Hltn', `sport = :${port}`], { allowFail: true });
    if (ss.stdout.includes(String(port))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const sender = spawn('ip', ['netns', 'exec', from, 'timeout', String(seconds + 10), PYTHON, '-c', SENDER, ip, String(port), String(seconds)], { stdio: 'ignore' });
  const senderDone = new Promise((r) => sender.once('close', r));
  return { arrivals: Promise.all([receiver, senderDone]).then(([r]) => JSON.parse(r.stdout.trim() || '[]') as number[]) };
}

/** Bits per second iperf3 measured from `client` to `serverIp` (in `server`), `-R`: the other way. */
export async function iperfBps(runner: ExecRunner, client: string, server: string, serverIp: string, seconds: number, reverse = false): Promise<number> {
  const srv = runner.run(['ip', 'netns', 'exec', server, 'timeout', String(seconds + 15), 'iperf3', '-s', '-1', '-B', serverIp], { allowFail: true });
  for (let i = 0; i < 50; i++) {
    const ss = await runner.run(['ip', 'netns', 'exec', server, 'ss', '-Hltn', 'sport = :5201'], { allowFail: true });
    if (ss.stdout.includes('5201')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = await runner.run(['ip', 'netns', 'exec', client, 'timeout', String(seconds + 10), 'iperf3', '-c', serverIp, '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])]);
  await srv;
  const json = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } } };
  const bps = json.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3 ${client} -> ${serverIp}: no result`);
  return bps;
}
