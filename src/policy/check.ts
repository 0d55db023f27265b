/**
 * checkFlow: the verdict the datapath gives a new flow, found by walking the compiled form the
 * datapath is rendered from (dispatch, chain steps, set elements), not by a second reading of
 * the rules: `policy check` and the kernel agree by construction (docs/adr/012). Cheap enough
 * to run on every conntrack entry of a tenant after a change (bench/policy-compile.ts).
 */
import { parseIp } from '../base/cidr.js';
import { AddrIndex } from './addr-index.js';
import { compileTenant, pairKey, REASON, type CompileInput } from './compile.js';
import { networkOf } from './resolve.js';
import { PROTO_NUMBER } from './steps.js';
import type { Chain, CompiledPolicy, Element, RuleRef, Step, Verdict } from './types.js';

export interface Flow {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  /** Destination port, tcp and udp; without one, rules restricted to ports do not match. */
  port?: number;
}

export interface FlowVerdict {
  verdict: Verdict;
  rule?: RuleRef;
  reason: string;
}

interface Packet {
  src: number;
  dst: number;
  proto: number;
  port?: number;
}

/** Takes the compiled form (compile once, check many) or the input it is compiled from. */
export function checkFlow(policy: CompiledPolicy | CompileInput, flow: Flow): FlowVerdict {
  const c = 'pairs' in policy ? policy : compileTenant(policy);
  const src = parseIp(flow.src);
  const dst = parseIp(flow.dst);
  if (src === undefined || dst === undefined) throw new Error(`checkFlow: not an IPv4 address: ${src === undefined ? flow.src : flow.dst}`);
  const pkt: Packet = { src, dst, proto: PROTO_NUMBER[flow.proto], port: flow.proto === 'icmp' ? undefined : flow.port };
  const s = networkOf(c.networks, src);
  const d = networkOf(c.networks, dst);
  let chain: string | undefined;
  if (s && d) {
    const target = c.pairs[pairKey(s.name, d.name)]!;
    if (!('chain' in target)) return { verdict: target.verdict, reason: target.reason };
    chain = target.chain;
  } else chain = s ? c.toOutside[s.name] : d ? c.fromOutside[d.name] : undefined;
  if (!chain) return { verdict: 'deny', reason: s || d ? REASON.outside : 'default: neither address is in a network of the tenant' };
  return walk(c, c.chains[chain]!, pkt);
}

function walk(c: CompiledPolicy, chain: Chain, pkt: Packet): FlowVerdict {
  for (const step of chain.steps) {
    const e = matchStep(c, step, pkt);
    if (!e) continue;
    const rule = c.rules[e.rule]!;
    return { verdict: step.verdict, rule, reason: `rule ${rule.policy}#${rule.index}: ${rule.text}` };
  }
  return { verdict: chain.fallback, reason: chain.fallbackReason };
}

const inGroup = (c: CompiledPolicy, name: string | undefined, ip: number) => !name || sortedHas(c.groups[name]!, ip);

/** Built on first use, kept as long as the compiled form: compile once, check many. */
const indexes = new WeakMap<Step, AddrIndex>();

function matchStep(c: CompiledPolicy, s: Step, p: Packet): Element | undefined {
  if (!inGroup(c, s.srcGroup, p.src) || !inGroup(c, s.dstGroup, p.dst)) return undefined;
  let index = indexes.get(s);
  if (!index) indexes.set(s, (index = AddrIndex.of(s.elements)));
  return index.containing(s.key.src ? p.src : p.dst).find((e) => matches(e, p));
}

const within = (r: { from: number; to: number } | undefined, v: number | undefined) => !r || (v !== undefined && v >= r.from && v <= r.to);

function matches(e: Element, p: Packet): boolean {
  return within(e.src, p.src) && within(e.dst, p.dst) && (e.proto === undefined || e.proto === p.proto) && within(e.port, p.port);
}

function sortedHas(xs: number[], v: number): boolean {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] === v) return true;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
