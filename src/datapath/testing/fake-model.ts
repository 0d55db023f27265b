/**
 * Test support: the kernel objects the fake kernel (fake-kernel.ts) keeps, the rules that tie
 * them together (a veth pair dies whole; a bridge takes its ports' static entries with it; a
 * namespace takes its links), and how they read back: as the JSON of `ip -j` / `bridge -j`
 * that observe.ts parses, and as one canonical text (`dumpModel`) for comparing two kernels.
 */
import { createHash } from 'node:crypto';

/** What a kernel refusal looks like to the fake: the stderr line and exit code of `ip`. */
export class KernelError extends Error {
  constructor(message: string, readonly code = 2) {
    super(message);
  }
}

export interface FakeVxlan {
  id: number;
  local: string;
  port: number;
  learning: boolean;
  proxy: boolean;
  /** Where the device was created: its UDP socket, and its VNI, stay there after a move. */
  srcNs: string;
}

export interface FakeLink {
  name: string;
  /** The ifindex, unique in its namespace, given when it is placed there (placeLink). */
  index: number;
  kind: string;
  mtu: number;
  mac: string;
  up: boolean;
  master?: string;
  addrs: string[];
  vxlan?: FakeVxlan;
  peer?: { ns: string; name: string };
  /** VXLAN `self` entries: MAC → remote VTEPs. */
  remotes: Map<string, string[]>;
  /** On a bridge, its `master static` entries: MAC → port. */
  bridgeFdb: Map<string, string>;
  /** Neighbours on this device: IP → MAC (all permanent). */
  neigh: Map<string, string>;
  /** On a bridge, its nf_call_iptables option (br_netfilter for this bridge, docs/adr/013). */
  nfCallIptables?: boolean;
}

export interface FakeNs {
  /** A name under /run/netns, or a path for a workload namespace. */
  name: string;
  workload: boolean;
  links: Map<string, FakeLink>;
  /** The last ifindex given in this namespace: the kernel gives them cyclically, never reusing one soon. */
  lastIndex: number;
  routes: Map<string, { via: string; dev: string }>;
  /** Tenet's `inet tenet` table, when there is one. */
  nft?: NftTable;
  /** Tenet's `bridge tenet` table (port pinning), when there is one; `elements` of its set. */
  nftBridge?: NftTable;
}

export interface NftTable {
  comment: string;
  body: string[];
  elements: Set<string>;
}

/** Stand-in for the random MAC the kernel gives a new device: stable per name, so states compare. */
export function pseudoMac(name: string): string {
  const b = createHash('sha1').update(name).digest();
  return [(b[0]! & 0xfe) | 0x02, ...b.subarray(1, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function newLink(name: string, kind: string, fields: Partial<FakeLink> = {}): FakeLink {
  const mtu = kind === 'loopback' ? 65536 : 1500;
  const mac = kind === 'loopback' ? '00:00:00:00:00:00' : pseudoMac(name);
  return { name, kind, index: 0, mtu, mac, up: false, addrs: [], remotes: new Map(), bridgeFdb: new Map(), neigh: new Map(), ...fields };
}

export function newNs(name: string, workload: boolean): FakeNs {
  return { name, workload, links: new Map([['lo', newLink('lo', 'loopback', { index: 1 })]]), lastIndex: 1, routes: new Map() };
}

/**
 * Puts a link in a namespace with an ifindex, as Linux does: a new device gets the next free
 * one after the last given; a device moved in keeps its own unless it is taken there.
 */
export function placeLink(ns: FakeNs, link: FakeLink): void {
  const used = new Set([...ns.links.values()].map((l) => l.index));
  if (link.index === 0 || used.has(link.index)) {
    do ns.lastIndex++;
    while (used.has(ns.lastIndex));
    link.index = ns.lastIndex;
  }
  ns.links.set(link.name, link);
}

/** `ip -j -d addr show`, with the fields observe.ts reads (and a few it must ignore); `kind`: only links of that kind (`link show type K`). */
export function addrJson(ns: FakeNs, kind?: string): string {
  const out = [...ns.links.values()].filter((l) => kind === undefined || l.kind === kind).map((l) => ({
    ifindex: l.index,
    ifname: l.name,
    flags: [...(l.kind === 'loopback' ? ['LOOPBACK'] : ['BROADCAST', 'MULTICAST']), ...(l.up ? ['UP', 'LOWER_UP'] : [])],
    mtu: l.mtu,
    operstate: l.up ? 'UP' : 'DOWN',
    ...(l.master ? { master: l.master } : {}),
    address: l.mac,
    ...(l.kind === 'loopback' ? {} : { linkinfo: { info_kind: l.kind, ...infoData(l) } }),
    addr_info: l.addrs.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]), scope: 'global', label: l.name })),
  }));
  return JSON.stringify(out);
}

/** What `ip -j -d` shows of a device's kind-specific settings, as far as Tenet reads them. */
function infoData(l: FakeLink): { info_data?: Record<string, unknown> } {
  if (l.vxlan) return { info_data: vxlanJson(l.vxlan) };
  if (l.kind === 'bridge') return { info_data: { nf_call_iptables: l.nfCallIptables ? 1 : 0, nf_call_ip6tables: 0, nf_call_arptables: 0 } };
  return {};
}

function vxlanJson(v: FakeVxlan): Record<string, unknown> {
  // iproute2 prints "proxy" only when it is set, "learning" always.
  return { id: v.id, local: v.local, port_range: { low: 0, high: 0 }, port: v.port, learning: v.learning, ...(v.proxy ? { proxy: true } : {}), ttl: 0, ageing: 300 };
}

/** `bridge -j fdb show`: static and remote entries, plus the permanent ones the kernel adds itself. */
export function fdbJson(ns: FakeNs): string {
  const out: Record<string, unknown>[] = [];
  for (const l of ns.links.values()) {
    if (l.master) out.push({ mac: l.mac, ifname: l.name, flags: [], master: l.master, state: 'permanent' });
    if (l.kind === 'bridge') out.push({ mac: l.mac, ifname: l.name, flags: [], master: l.name, state: 'permanent' });
    for (const [mac, port] of l.bridgeFdb) out.push({ mac, ifname: port, flags: [], master: l.name, state: 'static' });
    for (const [mac, dsts] of l.remotes) for (const dst of dsts) out.push({ mac, ifname: l.name, dst, flags: ['self'], state: 'permanent' });
  }
  return JSON.stringify(out);
}

/** `ip -j route show default`: the default route, when there is one. */
export function routeJson(ns: FakeNs): string {
  const out = [...ns.routes].filter(([dst]) => dst === 'default').map(([dst, r]) => ({ type: 'unicast', dst, gateway: r.via, dev: r.dev, protocol: 'boot', flags: [] }));
  return JSON.stringify(out);
}

export function neighJson(ns: FakeNs): string {
  const out = [...ns.links.values()].flatMap((l) => [...l.neigh].map(([dst, lladdr]) => ({ dst, dev: l.name, lladdr, state: ['PERMANENT'] })));
  return JSON.stringify(out);
}

/** `nft -j list ruleset`, reduced to what observe.ts reads: the comments, the policy's objects and the pinning set. */
export function rulesetJson(ns: FakeNs): string {
  const items: object[] = [];
  const hash = ns.nft?.body.map((l) => /comment "(tenet:[0-9a-f]+(?: policy)?)"/.exec(l)?.[1]).find(Boolean);
  if (hash) items.push({ rule: { family: 'inet', table: 'tenet', chain: 'forward', comment: hash } });
  const base = ns.nft?.body.map((l) => /comment "(tenet-base:[0-9a-f]+)"/.exec(l)?.[1]).find(Boolean);
  if (base) items.push({ rule: { family: 'inet', table: 'tenet', chain: 'input', comment: base } });
  for (const l of ns.nft?.body ?? []) {
    const o = /^(set|map|chain) (\S+) \{/.exec(l);
    if (o && o[2] !== 'forward' && o[2] !== 'input') items.push({ [o[1]!]: { family: 'inet', table: 'tenet', name: o[2] } });
  }
  if (ns.nftBridge) {
    const elem = [...ns.nftBridge.elements].map((e) => ({ concat: e.split(' . ').map((x) => x.replace(/^"|"$/g, '')) }));
    items.push({ set: { family: 'bridge', table: 'tenet', name: 'ports', ...(elem.length ? { elem } : {}) } });
  }
  return JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, ...items] });
}

/** Every namespace, link, entry and route, sorted: two kernels are alike when their dumps are. */
export function dumpModel(namespaces: Iterable<FakeNs>): string {
  const lines: string[] = [];
  for (const ns of [...namespaces].sort((a, b) => cmp(a.name, b.name))) {
    lines.push(`${ns.workload ? 'workload' : 'netns'} ${ns.name}`);
    const links = [...ns.links.values()].filter((l) => !(ns.workload && l.kind === 'loopback')); // not ours to manage
    for (const l of links.sort((a, b) => cmp(a.name, b.name))) lines.push(...dumpLink(l));
    for (const [dst, r] of [...ns.routes].sort()) lines.push(`  route ${dst} via ${r.via} dev ${r.dev}`);
    if (ns.nft) lines.push(...ns.nft.body.map((l) => `  nft inet ${l.trim()}`));
    if (ns.nftBridge) lines.push(...ns.nftBridge.body.map((l) => `  nft bridge ${l.trim()}`));
    if (ns.nftBridge) lines.push(...[...ns.nftBridge.elements].sort().map((e) => `  nft pinned ${e}`));
  }
  return lines.join('\n') + '\n';
}

function dumpLink(l: FakeLink): string[] {
  const v = l.vxlan;
  const attrs = [
    `  link ${l.name} ${l.kind}`,
    v ? `id ${v.id} local ${v.local} dstport ${v.port}${v.learning ? '' : ' nolearning'}${v.proxy ? ' proxy' : ''} created-in ${v.srcNs}` : '',
    l.peer ? `peer ${l.peer.ns}:${l.peer.name}` : '',
    l.master ? `master ${l.master}` : '',
    `mtu ${l.mtu} address ${l.mac} ${l.up ? 'up' : 'down'}`,
    ...[...l.addrs].sort().map((a) => `inet ${a}`),
  ];
  return [
    attrs.filter(Boolean).join(' '),
    ...[...l.bridgeFdb].sort().map(([mac, port]) => `    fdb ${mac} dev ${port} master static`),
    ...[...l.remotes].sort().flatMap(([mac, dsts]) => [...dsts].sort().map((d) => `    fdb ${mac} dst ${d} self permanent`)),
    ...[...l.neigh].sort().map(([ip, mac]) => `    neigh ${ip} lladdr ${mac} permanent`),
  ];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
