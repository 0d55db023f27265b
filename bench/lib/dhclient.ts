/**
 * ISC dhclient for the DHCP benchmark: many at once, each in a namespace the benchmark made,
 * in the foreground (`-d -1`), with its own config, lease, pid files and a script that touches
 * nothing (so the host's resolv.conf is never written). A client counts as leased when it
 * logs "bound to"; its exchange is timed from its first "DHCPDISCOVER" line (what the server
 * and the path cost, without the client's own start-up). Every process is killed by its own
 * PID afterwards or on cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNs, now } from './kernel.js';

const SCRIPT = '#!/bin/sh\n# tenet bench: accept every lease, configure nothing\nexit 0\n';
const CONF = 'timeout 30;\nrequest subnet-mask, broadcast-address, routers, domain-name-servers, domain-name, domain-search, interface-mtu;\n';

/** ms from the common start until bound, and from the client's first DISCOVER until bound. */
export interface Leased {
  lease: number;
  exchange: number;
  /** DHCPDISCOVERs the client sent before it was bound: 1 when the first exchange was answered. */
  discovers: number;
}

export class DhclientFleet {
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly dir: string) {
    writeFileSync(join(dir, 'dhclient-script'), SCRIPT, { mode: 0o755 });
    writeFileSync(join(dir, 'dhclient.conf'), CONF);
  }

  /**
   * Starts one dhclient per namespace, all at once, and resolves with the ms from the common
   * start until each logged its lease (undefined: none within `limitMs`).
   */
  async leaseAll(tag: string, namespaces: string[], limitMs: number): Promise<(Leased | undefined)[]> {
    const t0 = now();
    const results = await Promise.all(namespaces.map((ns, i) => this.one(`${tag}${i}`, ns, t0, limitMs)));
    this.stopAll();
    return results;
  }

  private one(id: string, ns: string, t0: number, limitMs: number): Promise<Leased | undefined> {
    const f = (ext: string) => join(this.dir, `${id}.${ext}`);
    writeFileSync(f('leases'), '');
    const argv = inNs(ns, ['dhclient', '-d', '-1', '-v', '-cf', join(this.dir, 'dhclient.conf'), '-lf', f('leases'), '-pf', f('pid'), '-sf', join(this.dir, 'dhclient-script'), 'eth0']);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.children.add(child);
    return new Promise((resolve) => {
      let log = '';
      let discover: number | undefined;
      const timer = setTimeout(() => resolve(undefined), limitMs);
      child.stderr!.on('data', (c: Buffer) => {
        log += c;
        if (discover === undefined && /DHCPDISCOVER/.test(log)) discover = now();
        if (/bound to /.test(log)) {
          clearTimeout(timer);
          const t = now();
          resolve({ lease: t - t0, exchange: t - (discover ?? t0), discovers: (log.match(/DHCPDISCOVER/g) ?? []).length });
        }
      });
      child.once('close', () => {
        clearTimeout(timer);
        resolve(undefined); // no-op once resolved
      });
      child.once('error', () => resolve(undefined));
    });
  }

  /** SIGKILL to each dhclient this fleet started (by the PID it holds), so no lease is released on the wire. */
  stopAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    this.children.clear();
  }
}
