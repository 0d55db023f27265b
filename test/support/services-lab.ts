/**
 * The lab the DHCP and DNS end-to-end tests share (issue 10): a controller, tenants, a network
 * `red` of the same name and subnet in each (so cross-tenant checks compare like with like),
 * a 2-host lab and the first containers; plus what those tests run inside a container (a
 * command, `dig` against the gateway, eth0's addresses) and a crafted DHCP DISCOVER flood.
 * One copy, so a change to the lab's shape is made once.
 */
import assert from 'node:assert/strict';
import { TenetEnv } from './procs.js';

/** `[host, container, tenant]`: `tenet lab run HOST NAME --tenant T --net red`. */
export type LabRun = [string, string, string];

export interface DigResult {
  status: string;
  answers: string[];
}

export class ServicesLab {
  readonly t = new TenetEnv();
  /** The gateway of every tenant's `red` (x.y.z.1), where DNS listens. */
  readonly gw: string;

  /** `net`: the first three octets of the /24 every tenant's `red` gets, e.g. "192.168.72". */
  constructor(readonly net: string) {
    this.gw = `${net}.1`;
  }

  /** Controller, tenants with their `red`, a 2-host lab, and `runs`; returns each run's address. */
  async up(tenants: string[], runs: LabRun[]): Promise<Map<string, string>> {
    await this.t.startController();
    await this.t.okAll([
      ...tenants.map((tenant) => ['tenant', 'create', tenant]),
      ...tenants.map((tenant) => ['net', 'create', 'red', '--tenant', tenant, '--subnet', `${this.net}.0/24`]),
      ['lab', 'up', '--hosts', '2'],
    ]);
    const ips = new Map<string, string>();
    for (const [host, name, tenant] of runs) ips.set(name, (await this.t.ok('lab', 'run', host, name, '--tenant', tenant, '--net', 'red')).trim());
    return ips;
  }

  destroy(): Promise<void> {
    return this.t.destroy();
  }

  /** A command in a lab container: exit status and stdout + stderr. */
  async exec(name: string, ...argv: string[]): Promise<{ code: number; out: string }> {
    const r = await this.t.tenet('lab', 'exec', name, '--', ...argv);
    return { code: r.code, out: r.stdout + r.stderr };
  }

  /** `dig` in a lab container against the gateway (1 s timeout, 2 tries unless `opts` say): status and answers. */
  async dig(from: string, args: string[], opts: { time?: number; tries?: number } = {}): Promise<DigResult> {
    const r = await this.t.tenet('lab', 'exec', from, '--', 'dig', `@${this.gw}`, `+time=${opts.time ?? 1}`, `+tries=${opts.tries ?? 2}`, ...args);
    const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.code}: ${r.stdout.slice(-200)} ${r.stderr.slice(-200)})`;
    const answers = r.stdout
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => l.split(/\s+/).slice(3).join(' '));
    return { status, answers };
  }

  /** eth0's IPv4 addresses (with prefix length) and MTU in a lab container. */
  async eth0(name: string): Promise<{ addrs: string[]; mtu: number }> {
    const [link] = JSON.parse((await this.exec(name, 'ip', '-j', 'addr', 'show', 'eth0')).out) as { mtu: number; addr_info: { family: string; local: string; prefixlen: number }[] }[];
    return { mtu: link!.mtu, addrs: link!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`) };
  }

  /** eth0's MAC in a lab container. */
  async mac(name: string): Promise<string> {
    return (JSON.parse((await this.exec(name, 'ip', '-j', 'link', 'show', 'eth0')).out) as { address: string }[])[0]!.address;
  }

  /** Sends `count` DHCP DISCOVERs from 0.0.0.0 with eth0's own MAC, back to back, from container `name`. */
  async floodDiscovers(name: string, count: number): Promise<void> {
    const r = await this.exec(name, 'python3', '-c', DISCOVER_FLOOD, 'eth0', await this.mac(name), String(count));
    assert.equal(r.code, 0, `the flood sender: ${r.out}`);
  }
}

/**
 * A raw-socket sender of DHCP DISCOVER frames (no scapy on the test machines): Ethernet
 * broadcast from the port's MAC, IP 0.0.0.0 → 255.255.255.255 (checksummed), UDP 68 → 67
 * (checksum 0: none), a minimal BOOTP request with option 53 = DISCOVER.
 */
const DISCOVER_FLOOD = `
import socket, struct, sys
iface, mac, n = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
z4 = bytes(4)
dhcp = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, 0x7e4e7, 0, 0x8000, z4, z4, z4, z4, mac + bytes(10), bytes(64), bytes(128))
dhcp += bytes([99, 130, 83, 99, 53, 1, 1, 255])
dhcp += bytes(300 - len(dhcp))
udp = struct.pack('!HHHH', 68, 67, 8 + len(dhcp), 0) + dhcp
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, z4, b'\\xff' * 4)
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
frame = b'\\xff' * 6 + mac + b'\\x08\\x00' + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for _ in range(n):
    s.send(frame)
`;
