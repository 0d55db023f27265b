/**
 * Ordered rules to chain steps (docs/adr/012). Consecutive rules with the same verdict and the
 * same set key share one set, so a packet pays one lookup for the whole run, however many rules
 * it holds. The kernel's concatenated interval sets (pipapo) refuse overlapping elements
 * ("File exists"), so an element that overlaps one already in the set starts a new step; that
 * also keeps first-match order and makes the matching element, hence the deciding rule, unique.
 * A logged rule is a step of its own: its log prefix names it.
 */
import type { PortRange } from '../model/policy.js';
import { AddrIndex } from './addr-index.js';
import type { InForce } from './order.js';
import type { AddrRange, Element, Step, StepKey } from './types.js';

export const PROTO_NUMBER = { tcp: 6, udp: 17, icmp: 1 } as const;

/** Sorted, overlapping and adjacent ranges merged: a rule's own elements never overlap. */
export function mergePorts(ports: PortRange[]): PortRange[] {
  const sorted = [...ports].sort((a, b) => a.from - b.from);
  const out: PortRange[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p.from <= last.to + 1) last.to = Math.max(last.to, p.to);
    else out.push({ ...p });
  }
  return out;
}

function ruleElements(r: InForce, ruleIndex: number, key: StepKey): Element[] {
  const srcs: (AddrRange | undefined)[] = r.from.kind === 'ranges' ? r.from.ranges : [undefined];
  const dsts: (AddrRange | undefined)[] = r.to.kind === 'ranges' ? r.to.ranges : [undefined];
  const proto = r.rule.proto === 'any' ? undefined : PROTO_NUMBER[r.rule.proto];
  const ports: (PortRange | undefined)[] = key.port ? mergePorts(r.rule.ports) : [undefined];
  return srcs.flatMap((src) => dsts.flatMap((dst) => ports.map((port) => element(src, dst, proto, port, ruleIndex))));
}

/** Only the dimensions that are set (a `delete` would turn each element into a slow dictionary object). */
function element(src: AddrRange | undefined, dst: AddrRange | undefined, proto: number | undefined, port: PortRange | undefined, rule: number): Element {
  const e: Element = { rule };
  if (src) e.src = src;
  if (dst) e.dst = dst;
  if (proto !== undefined) e.proto = proto;
  if (port) e.port = port;
  return e;
}

const meets = (a: { from: number; to: number } | undefined, b: { from: number; to: number } | undefined) =>
  !a || !b || (a.from <= b.to && b.from <= a.to);

export function overlap(a: Element, b: Element): boolean {
  return meets(a.src, b.src) && meets(a.dst, b.dst) && (a.proto === undefined || a.proto === b.proto) && meets(a.port, b.port);
}

function shapeOf(r: InForce): Omit<Step, 'elements' | 'set'> {
  const key = { src: r.from.kind === 'ranges', dst: r.to.kind === 'ranges', proto: r.rule.proto !== 'any', port: r.rule.ports.length > 0 };
  const step: Omit<Step, 'elements' | 'set'> = { key, verdict: r.rule.action };
  if (r.from.kind === 'group') step.srcGroup = r.from.name;
  if (r.to.kind === 'group') step.dstGroup = r.to.name;
  if (r.rule.log) step.log = `tenet ${r.policy}#${r.index} `;
  return step;
}

const signature = (s: Omit<Step, 'elements' | 'set'>) => JSON.stringify([s.key, s.verdict, s.srcGroup ?? '', s.dstGroup ?? '', s.log ?? '']);

/**
 * `ruleIndexOf` maps a rule in force to its index in CompiledPolicy.rules. Rules whose
 * selectors resolve to no address (an endpoint gone) produce no element and no step.
 */
export function buildSteps(rules: InForce[], ruleIndexOf: (r: InForce) => number): Step[] {
  const steps: Step[] = [];
  let index: AddrIndex | undefined;
  let lastSignature = '';
  for (const r of rules) {
    const shape = shapeOf(r);
    const elements = ruleElements(r, ruleIndexOf(r), shape.key);
    if (elements.length === 0) continue;
    const last = steps[steps.length - 1];
    const sig = signature(shape);
    const fits = last && index && !last.log && !shape.log && lastSignature === sig && !elements.some((e) => index!.meeting(e).some((x) => overlap(e, x)));
    if (fits) for (const e of elements) last.elements.push(e);
    else {
      steps.push({ ...shape, elements });
      index = new AddrIndex(shape.key.src ? 'src' : shape.key.dst ? 'dst' : undefined);
      lastSignature = sig;
    }
    for (const e of elements) index!.add(e);
  }
  return steps;
}
