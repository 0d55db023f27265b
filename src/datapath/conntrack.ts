/**
 * Established flows a policy change now denies stop within a second (issue 7). The ruleset
 * replacement itself never touches conntrack (`ct state established,related accept` comes
 * first), so flows it allowed before keep passing; after a load that changed the policy, the
 * tenant namespace's conntrack table is listed and the entries a predicate calls denied are
 * deleted: their next packet is `new` and meets the rules.
 *
 * The table is read from /proc/PID/net/nf_conntrack of a process the runner keeps inside the
 * namespace (the persistent `nft -i` session, nft-session.ts) when there is one: a file read
 * instead of starting `nsenter` + `conntrack` after every change on every host, which competed
 * for the CPU with the loads of the other agents (docs/adr/026, addendum). Without one (no
 * session yet, /proc without nf_conntrack), `conntrack -L` as before. Same text format.
 *
 * `conntrack -L` text is parsed line by line: a line that does not read as a flow is skipped
 * on its own and never breaks the others (the parser is fuzzed in conntrack.test.ts).
 */
import { readFile, readlink, stat } from 'node:fs/promises';
import { contains, parseIp } from '../base/cidr.js';
import { NETNS_DIR } from './observe.js';
import { subnetOf, type TenantPlan } from './plan.js';
import type { CommandRunner } from './runner.js';

/** A flow as its first packet went (the original direction). */
export interface ConntrackFlow {
  proto: string;
  src: string;
  dst: string;
  /** tcp/udp only. */
  sport?: number;
  dport?: number;
  /** icmp only. */
  icmp?: { type: number; code: number; id: number };
  /** TCP state, e.g. ESTABLISHED. */
  state?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const u16 = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? Number(v) : undefined);
const u8 = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,3}$/.test(v) && Number(v) <= 255 ? Number(v) : undefined);

/** One line of `conntrack -L` (default or `-o extended` output); undefined when it is not an IPv4 flow. */
export function parseConntrackLine(line: string): ConntrackFlow | undefined {
  const words = line.trim().split(/\s+/);
  const start = words[0] === 'ipv4' ? 2 : 0;
  const proto = words[start];
  if (!proto || !/^[a-z0-9]+$/.test(proto) || words[0] === 'ipv6') return undefined;
  // The original tuple only: it ends where the reply tuple's `src=` begins. A key repeated
  // before that, or missing from it, makes the line unreadable rather than half-read.
  const first = new Map<string, string>();
  let state: string | undefined;
  for (const w of words.slice(start + 1)) {
    const eq = w.indexOf('=');
    if (eq > 0) {
      const k = w.slice(0, eq);
      if (k === 'src' && first.has('src')) break;
      if (first.has(k)) return undefined;
      first.set(k, w.slice(eq + 1));
    } else if (/^[A-Z_]+$/.test(w) && !w.startsWith('[') && state === undefined && !first.has('src')) state = w;
  }
  const src = first.get('src');
  const dst = first.get('dst');
  if (!src || !dst || !IPV4.test(src) || !IPV4.test(dst)) return undefined;
  const flow: ConntrackFlow = { proto, src, dst, ...(state ? { state } : {}) };
  if (proto === 'tcp' || proto === 'udp' || proto === 'sctp') {
    const sport = u16(first.get('sport'));
    const dport = u16(first.get('dport'));
    if (sport === undefined || dport === undefined) return undefined;
    return { ...flow, sport, dport };
  }
  if (proto === 'icmp') {
    const type = u8(first.get('type'));
    const code = u8(first.get('code'));
    const id = u16(first.get('id'));
    if (type === undefined || code === undefined || id === undefined) return undefined;
    return { ...flow, icmp: { type, code, id } };
  }
  return flow;
}

export function parseConntrack(text: string): ConntrackFlow[] {
  return text.split('\n').flatMap((line) => {
    const flow = parseConntrackLine(line);
    return flow ? [flow] : [];
  });
}

/** The arguments of `conntrack -D` that select exactly this flow's original tuple. */
export function deleteArgs(f: ConntrackFlow): string[] {
  const out = ['-p', f.proto, '-s', f.src, '-d', f.dst];
  if (f.sport !== undefined && f.dport !== undefined) out.push('--sport', String(f.sport), '--dport', String(f.dport));
  if (f.icmp) out.push('--icmp-type', String(f.icmp.type), '--icmp-code', String(f.icmp.code), '--icmp-id', String(f.icmp.id));
  return out;
}

/**
 * Deletes the tenant namespace's conntrack entries `denied` says no to; returns them. One read
 * of the table (listTable), and one delete process per denied flow (at most 8 at a time). A
 * flow that ended in between is already gone: its delete's failure is not an error.
 */
export async function dropDenied(runner: CommandRunner, ns: string, denied: (flow: ConntrackFlow) => boolean): Promise<ConntrackFlow[]> {
  const doomed = parseConntrack(await listTable(runner, ns)).filter(denied);
  for (let i = 0; i < doomed.length; i += 8) {
    await Promise.all(doomed.slice(i, i + 8).map((f) => runner.run(inNs(ns, ['-D', ...deleteArgs(f)]), { allowFail: true })));
  }
  return doomed;
}

const inNs = (ns: string, args: string[]) => ['nsenter', `--net=${NETNS_DIR}/${ns}`, 'conntrack', ...args];

/** The namespace's conntrack table as text: without a process when the runner has one in it, else `conntrack -L`. */
export async function listTable(runner: CommandRunner, ns: string): Promise<string> {
  const pid = runner.pidIn?.(ns);
  const read = pid === undefined ? undefined : await readProcTable(pid, ns);
  return read ?? (await runner.run(inNs(ns, ['-L', '-f', 'ipv4']), { allowFail: true })).stdout;
}

/**
 * /proc/PID/net/nf_conntrack, only while PID is in `ns` (checked before and after the read: a
 * process that died in between may have left its pid to one elsewhere). Undefined when it is
 * not, or the kernel has no such file: the caller lists with `conntrack` instead.
 */
export async function readProcTable(pid: number, ns: string): Promise<string | undefined> {
  try {
    const want = `net:[${(await stat(`${NETNS_DIR}/${ns}`)).ino}]`;
    const inside = async () => (await readlink(`/proc/${pid}/ns/net`)) === want;
    if (!(await inside())) return undefined;
    const text = await readFile(`/proc/${pid}/net/nf_conntrack`, 'utf8');
    return (await inside()) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The rule without a policy: a flow between two of the tenant's networks is denied. */
export function betweenNetworks(plan: TenantPlan): (flow: ConntrackFlow) => boolean {
  const subnets = plan.networks.flatMap((n) => subnetOf(n) ?? []);
  const netOf = (addr: string) => {
    const ip = parseIp(addr);
    return ip === undefined ? -1 : subnets.findIndex((c) => contains(c, ip));
  };
  return (f) => {
    const a = netOf(f.src);
    const b = netOf(f.dst);
    return a >= 0 && b >= 0 && a !== b;
  };
}
