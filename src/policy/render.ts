/**
 * The compiled form as nft text for the tenant namespace's `inet tenet` table (docs/adr/012).
 * The datapath embeds the fragments in the table it replaces atomically: `sets` (group sets
 * and step sets), then `chains` (each ends with its fallback verdict, so a jump never returns),
 * then `maps` (the dispatch maps jump to those chains, so they come after them), and
 * `forwardRules` go in the forward chain after `ct state established,related accept`.
 */
import { formatIp } from '../base/cidr.js';
import { pairKey } from './compile.js';
import { rangeText } from './resolve.js';
import { PROTO_NUMBER } from './steps.js';
import type { Chain, CompiledPolicy, Element, PairTarget, Step } from './types.js';

export interface NftFragments {
  sets: string;
  chains: string;
  maps: string;
  forwardRules: string;
}

const PROTO_NAME: Record<number, string> = Object.fromEntries(Object.entries(PROTO_NUMBER).map(([n, v]) => [v, n]));
const addr = (r: { from: number; to: number }) => rangeText(r, formatIp);
const elementsLine = (els: string[]) => (els.length ? [`    elements = { ${els.join(', ')} }`] : []);

export function renderNft(c: CompiledPolicy): NftFragments {
  const chains = Object.values(c.chains);
  return {
    sets: [...Object.entries(c.groups).map(([name, ips]) => groupSet(name, ips)), ...chains.flatMap(stepSets)].join('\n'),
    chains: chains.map(chainText).join('\n'),
    maps: dispatchMaps(c).join('\n'),
    forwardRules: forwardRules(c).join('\n'),
  };
}

/** The fragments joined in an order nft accepts, for a table body. */
export function tableBody(f: NftFragments): string {
  return [f.sets, f.chains, f.maps].filter(Boolean).join('\n');
}

function groupSet(name: string, ips: number[]): string {
  return [`  set ${name} {`, `    type ipv4_addr`, ...elementsLine(ips.map(formatIp)), `  }`].join('\n');
}

const KEY_TYPES = { src: 'ipv4_addr', dst: 'ipv4_addr', proto: 'inet_proto', port: 'inet_service' } as const;
const KEY_EXPRS = { src: 'ip saddr', dst: 'ip daddr', proto: 'meta l4proto', port: 'th dport' } as const;
const dims = (s: Step) => (['src', 'dst', 'proto', 'port'] as const).filter((d) => s.key[d]);

function stepSets(chain: Chain): string[] {
  return chain.steps.flatMap((s) => {
    if (!s.set) return [];
    const type = dims(s).map((d) => KEY_TYPES[d]).join(' . ');
    return [[`  set ${s.set} {`, `    type ${type}`, `    flags interval`, ...elementsLine(s.elements.map((e) => elementText(s, e))), `  }`].join('\n')];
  });
}

export function elementText(s: Step, e: Element): string {
  const part = { src: () => addr(e.src!), dst: () => addr(e.dst!), proto: () => PROTO_NAME[e.proto!]!, port: () => portText(e.port!) };
  return dims(s).map((d) => part[d]()).join(' . ');
}

const portText = (p: { from: number; to: number }) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`);

function chainText(chain: Chain): string {
  const fallback = chain.fallback === 'allow' ? 'accept' : 'drop';
  return [`  chain ${chain.name} {`, ...chain.steps.flatMap(statements).map((l) => `    ${l}`), `    ${fallback}`, `  }`].join('\n');
}

/** One statement per step; a reject step that may see TCP and other protocols needs two. */
export function statements(s: Step): string[] {
  const match = [
    ...(s.srcGroup ? [`ip saddr @${s.srcGroup}`] : []),
    ...(s.dstGroup ? [`ip daddr @${s.dstGroup}`] : []),
    ...(s.set ? [`${dims(s).map((d) => KEY_EXPRS[d]).join(' . ')} @${s.set}`] : []),
  ].join(' ');
  const log = s.log ? ` log prefix "${s.log}"` : '';
  if (s.verdict !== 'reject') return [`${match}${log} ${s.verdict === 'allow' ? 'accept' : 'drop'}`];
  const protos = s.key.proto ? new Set(s.elements.map((e) => e.proto)) : undefined;
  const tcp = !protos || protos.has(PROTO_NUMBER.tcp);
  const other = !protos || [...protos].some((p) => p !== PROTO_NUMBER.tcp);
  return [
    ...(tcp ? [`${match} meta l4proto tcp${log} reject with tcp reset`] : []),
    ...(other ? [`${match}${log} reject with icmpx type admin-prohibited`] : []),
  ];
}

function verdictText(t: PairTarget): string {
  return 'chain' in t ? `goto ${t.chain}` : t.verdict === 'allow' ? 'accept' : 'drop';
}

function dispatchMaps(c: CompiledPolicy): string[] {
  const pairs = c.networks.flatMap((s) => c.networks.map((d) => `${s.subnet} . ${d.subnet} : ${verdictText(c.pairs[pairKey(s.name, d.name)]!)}`));
  const side = (m: Record<string, string>) => c.networks.filter((n) => m[n.name]).map((n) => `${n.subnet} : goto ${m[n.name]}`);
  const map = (name: string, type: string, els: string[]) =>
    [`  map ${name} {`, `    type ${type} : verdict`, `    flags interval`, ...elementsLine(els), `  }`].join('\n');
  return [
    ...(pairs.length ? [map('pol_pairs', 'ipv4_addr . ipv4_addr', pairs)] : []),
    ...(side(c.toOutside).length ? [map('pol_to_outside', 'ipv4_addr', side(c.toOutside))] : []),
    ...(side(c.fromOutside).length ? [map('pol_from_outside', 'ipv4_addr', side(c.fromOutside))] : []),
  ];
}

/** For the forward chain, after `ct state established,related accept`: new flows only. */
function forwardRules(c: CompiledPolicy): string[] {
  return [
    ...(c.networks.length ? [`    ct state new ip saddr . ip daddr vmap @pol_pairs`] : []),
    ...(Object.keys(c.toOutside).length ? [`    ct state new ip saddr vmap @pol_to_outside`] : []),
    ...(Object.keys(c.fromOutside).length ? [`    ct state new ip daddr vmap @pol_from_outside`] : []),
  ];
}
