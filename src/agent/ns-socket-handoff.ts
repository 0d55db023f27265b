/**
 * DNS and DHCP through an agent restart (ADR 024). A stopping agent parks its sockets in
 * a detached parker (ns-socket-parker.ts) that keeps answering from a snapshot; the next
 * agent binds its own sockets next to them (SO_REUSEADDR: the newest socket gets the
 * datagrams) and, once every service has all its servers running, sends the parker away.
 * A TCP listener cannot share its port (no SO_REUSEPORT in Node 20): the parker accepts on the
 * old one until then, closes it as it goes, and the new agent listens right after
 * (ns-services.ts: the TCP socket is optional, tried again after LATE_RETRY_MS).
 * The parker's PID is kept in a file beside the agent's API socket (unique per agent, lab
 * hosts included); it is signalled only after /proc/PID/cmdline shows it is still the parker
 * of that file (PIDs are reused).
 */
import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import type net from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../base/logger.js';
import type { ParkedDhcp } from './dhcp.js';
import type { ParkedDns } from './dns.js';
import type { ParkMessage } from './ns-socket-parker.js';

const PARKER = fileURLToPath(new URL('./ns-socket-parker.js', import.meta.url));
/** A parker that has not taken the sockets by then is killed: the agent exits anyway. */
const PARK_TIMEOUT_MS = 4_000;

export interface Parkable {
  udp: dgram.Socket;
  /** The DNS TCP listener: the parker accepts on it until the new agent serves UDP, then closes it so that agent can listen. */
  tcp?: net.Server;
  spec: ParkedDns | ParkedDhcp;
}

export class SocketHandoff {
  private readonly complete = new Set<string>();
  private retired = false;

  /** `services`: the names that must each report a complete sync before the parker goes. */
  constructor(
    private readonly pidFile: string,
    private readonly services: string[],
    private readonly logger: Logger,
  ) {}

  /** A service has every wanted server running: the parker goes once all have. */
  completed(service: string): void {
    this.complete.add(service);
    if (this.retired || !this.services.every((s) => this.complete.has(s))) return;
    this.retired = true;
    this.retire();
  }

  /** Sends away the parker a previous agent left, if it is still there. */
  retire(): void {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    rmSync(this.pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 1 || !this.isOurParker(pid)) return;
    try {
      process.kill(pid, 'SIGTERM');
      this.logger.info({ pid }, 'serving DNS and DHCP again: the parker of the previous agent is told to go');
    } catch {
      // gone already
    }
  }

  private isOurParker(pid: number): boolean {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes(PARKER) && argv.includes(this.pidFile);
    } catch {
      return false;
    }
  }

  /** Hands `sockets` to a new parker; resolves when it answers on them (or gave up). */
  async park(sockets: Parkable[]): Promise<void> {
    if (sockets.length === 0) return;
    const started = performance.now();
    const child = spawn(process.execPath, [PARKER, '--pid-file', this.pidFile], { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const parked = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${PARK_TIMEOUT_MS} ms`)), PARK_TIMEOUT_MS);
        child.once('message', (m: { parked?: number }) => (clearTimeout(timer), resolve(m.parked ?? 0)));
        child.once('error', (err) => (clearTimeout(timer), reject(err)));
        child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`parker exited (${code})`))));
        for (const s of sockets) {
          child.send({ park: s.spec } satisfies ParkMessage, s.udp as never);
          if (s.tcp) child.send({ parkTcp: true } satisfies ParkMessage, s.tcp);
        }
        child.send({ done: true } satisfies ParkMessage);
      });
      writeFileSync(this.pidFile, `${child.pid}\n`);
      this.logger.info({ pid: child.pid, sockets: parked, ms: Math.round(performance.now() - started) }, 'DNS and DHCP parked until the next agent serves');
    } catch (err) {
      child.kill('SIGKILL');
      this.logger.warn({ err: (err as Error).message }, 'could not park the DNS and DHCP sockets: they stop with the agent');
    } finally {
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
    }
  }
}
