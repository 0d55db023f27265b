/**
 * Reads a tenant namespace's kernel state (`ip -j`, `bridge -j`, `nft -j`) in parallel,
 * one process each, and reduces it to TenantState. Parsing is separate from running so it
 * can be tested against captured JSON without root.
 */
import { readdir } from 'node:fs/promises';
import type { CommandRunner } from './runner.js';
import { isBridge, isOurs, isVxlan, LEGACY_POLICY_MARK, NFT_TABLE, POLICY_MARK } from './names.js';
import type { FdbEntry, LinkState, NeighEntry, TenantState } from './state.js';
import { emptyTenantState } from './state.js';

export const NETNS_DIR = '/run/netns';

/** Named network namespaces (what `ip netns list` shows), read without spawning a process. */
export async function listNamespaces(dir = NETNS_DIR): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

export async function observeTenant(runner: CommandRunner, ns: string, exists: boolean): Promise<TenantState> {
  if (!exists) return emptyTenantState();
  const [links, fdb, neigh, nft] = await Promise.all([
    runner.run(['ip', '-n', ns, '-j', '-d', 'addr', 'show']),
    runner.run(['bridge', '-n', ns, '-j', 'fdb', 'show']),
    runner.run(['ip', '-n', ns, '-j', 'neigh', 'show']),
    runner.run(['nsenter', `--net=${NETNS_DIR}/${ns}`, 'nft', '-j', 'list', 'ruleset']),
  ]);
  return {
    exists: true,
    links: parseLinks(links.stdout),
    bridgeIndexes: new Map([...parseLinkIndexes(links.stdout)].filter(([name]) => isBridge(name))),
    fdb: parseFdb(fdb.stdout),
    neigh: parseNeigh(neigh.stdout),
    ...parseRuleset(nft.stdout),
  };
}

interface RawLink {
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  master?: string;
  qdisc?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `keep`: which names to list (Tenet's tenant-namespace links by default). */
export function parseLinks(json: string, keep: (name: string) => boolean = isOurs): Map<string, LinkState> {
  const links = new Map<string, LinkState>();
  for (const raw of parseJsonArray<RawLink>(json)) {
    if (!keep(raw.ifname)) continue;
    const data = raw.linkinfo?.info_data ?? {};
    links.set(raw.ifname, {
      name: raw.ifname,
      kind: raw.linkinfo?.info_kind ?? '',
      master: raw.master,
      mtu: raw.mtu,
      mac: raw.address ?? '',
      up: (raw.flags ?? []).includes('UP'),
      // Only what tc.ts uses, so states without rate limits compare as before.
      ...(raw.qdisc === 'tbf' ? { qdisc: 'tbf' } : {}),
      ...(raw.ifalias ? { alias: raw.ifalias } : {}),
      ...(data.nf_call_iptables === 1 ? { tracked: true as const } : {}),
      addrs: (raw.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      vxlan:
        raw.linkinfo?.info_kind === 'vxlan'
          ? {
              id: Number(data.id),
              local: String(data.local ?? ''),
              port: Number(data.port),
              learning: data.learning === true,
              proxy: data.proxy === true,
            }
          : undefined,
    });
  }
  return links;
}

/** Interface name → ifindex, from the same `ip -j` output (bridge-index.ts). */
export function parseLinkIndexes(json: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of parseJsonArray<{ ifname: string; ifindex?: number }>(json)) if (Number.isInteger(raw.ifindex)) out.set(raw.ifname, raw.ifindex!);
  return out;
}

interface RawFdb {
  mac: string;
  ifname: string;
  dst?: string;
  master?: string;
  flags?: string[];
  state?: string;
}

export function parseFdb(json: string): FdbEntry[] {
  const out: FdbEntry[] = [];
  for (const raw of parseJsonArray<RawFdb>(json)) {
    if (!isVxlan(raw.ifname)) continue;
    if (raw.dst && (raw.flags ?? []).includes('self')) out.push({ mac: raw.mac, dev: raw.ifname, kind: 'remote', dst: raw.dst });
    else if (raw.master && raw.state === 'static') out.push({ mac: raw.mac, dev: raw.ifname, kind: 'bridge' });
  }
  return out;
}

interface RawNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

export function parseNeigh(json: string): NeighEntry[] {
  return parseJsonArray<RawNeigh>(json)
    .filter((n) => isVxlan(n.dev) && n.lladdr && (n.state ?? []).includes('PERMANENT'))
    .map((n) => ({ ip: n.dst, dev: n.dev, mac: n.lladdr! }));
}

interface RawRulesetItem {
  rule?: { family: string; table: string; comment?: string };
  set?: { family: string; table: string; name: string; elem?: ({ concat: string[] } | string)[] };
  map?: { family: string; table: string; name: string };
  chain?: { family: string; table: string; name: string; hook?: string };
}

/**
 * The hash in Tenet's rule comment, the port-pinning set's elements, and for an in-place
 * update the structure mark and the policy's objects in `inet tenet` (`nft -j list ruleset`).
 */
export function parseRuleset(json: string): { nftHash?: string; policy: boolean; brnfSysctl?: boolean; pinned: string[]; nftBase?: string; nftObjects: string[] } {
  const items = ((JSON.parse(json || '{}') as { nftables?: RawRulesetItem[] }).nftables ?? []);
  const ours = (x: { family: string; table: string }, family: string) => x.family === family && x.table === NFT_TABLE;
  const comment = items.map((i) => i.rule).find((r) => r && ours(r, 'inet') && r.comment?.startsWith('tenet:'))?.comment;
  const set = items.map((i) => i.set).find((s) => s && ours(s, 'bridge') && s.name === 'ports');
  const pinned = (set?.elem ?? []).flatMap((e) => (typeof e === 'object' && e.concat ? [`"${e.concat[0]}" . ${e.concat[1]} . ${e.concat[2]}`] : []));
  const [hash, marker] = (comment?.slice('tenet:'.length) ?? '').split(' ');
  const base = items.map((i) => i.rule).find((r) => r && ours(r, 'inet') && r.comment?.startsWith('tenet-base:'))?.comment?.slice('tenet-base:'.length);
  const objects = items.flatMap((i) => {
    if (i.set && ours(i.set, 'inet')) return [`set ${i.set.name}`];
    if (i.map && ours(i.map, 'inet')) return [`map ${i.map.name}`];
    return i.chain && ours(i.chain, 'inet') && !i.chain.hook ? [`chain ${i.chain.name}`] : [];
  });
  const legacy = marker === LEGACY_POLICY_MARK;
  return { nftHash: hash || undefined, policy: marker === POLICY_MARK || legacy, ...(legacy ? { brnfSysctl: true } : {}), pinned: pinned.sort(), ...(base ? { nftBase: base } : {}), nftObjects: objects };
}

function parseJsonArray<T>(text: string): T[] {
  const trimmed = text.trim();
  return trimmed ? (JSON.parse(trimmed) as T[]) : [];
}
