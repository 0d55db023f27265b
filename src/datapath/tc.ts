/**
 * Rate limits (issue 7) with tc on a port's host-side veth, which lives in the tenant
 * namespace. This kernel has tbf, the u32 classifier, the mirred action and ifb devices, but
 * neither the police action nor matchall (docs/adr/013), so:
 *
 *   what the endpoint receives = egress of the host-side veth → a tbf root qdisc on it;
 *   what the endpoint sends    = ingress of the host-side veth → redirected (u32 match-all +
 *                                mirred) to an ifb device of the port (names.ts ifbName),
 *                                whose tbf root qdisc shapes it.
 *
 * Reconciled like the rest of the datapath without a process more: `ip -j -d addr show` (the
 * read-back every reconcile already does) shows each link's root qdisc kind and its alias,
 * and the alias records the limits Tenet applied last (`tenet-rate:SENDS:RECEIVES`). It is set
 * only after every tc command of the port succeeded, so a half-applied limit is redone. A port
 * whose limits are right runs no command; only Tenet's qdiscs on Tenet's links are touched,
 * and a port's ifb is stale (diff.ts deletes it) once the port has no send limit.
 */
import { ifbName } from './names.js';
import type { PortPlan, PortRate, TenantPlan } from './plan.js';
import type { LinkState, TenantState } from './state.js';

/** The commands that bring one port's limits to its plan. */
export interface RateSteps {
  plan: PortPlan;
  /** `tc -force -batch -`, failures ignored: removes what may be there (nothing, on a new port). */
  clear: string[];
  /** `ip -batch -` in the tenant namespace: the ifb device. */
  ip: string[];
  /** `tc -batch -`, must succeed. */
  tc: string[];
  /** `ip -batch -`, last: records what was applied. */
  record: string[];
}

export const rateAlias = (rate?: PortRate): string => (rate ? `tenet-rate:${rate.egressBps ?? 0}:${rate.ingressBps ?? 0}` : '');

/** The ifb devices the plan wants (diff.ts keeps them; any other `tnq…` link is stale). */
export function wantedIfbs(plan: TenantPlan): string[] {
  return plan.ports.filter((p) => p.rate?.egressBps).map((p) => ifbName(p.port));
}

export function rateSteps(plan: TenantPlan, state: TenantState): RateSteps[] {
  const out: RateSteps[] = [];
  for (const port of plan.ports) {
    const link = state.links.get(port.port);
    if (!link ? port.rate === undefined : rateIsCurrent(port, link, state.links.get(ifbName(port.port)))) continue;
    out.push(portRateSteps(port, link !== undefined, state.links.has(ifbName(port.port))));
  }
  return out;
}

function rateIsCurrent(port: PortPlan, link: LinkState, ifb: LinkState | undefined): boolean {
  const want = rateAlias(port.rate);
  if ((link.alias ?? '') !== want) return false;
  if (!!port.rate?.ingressBps !== (link.qdisc === 'tbf')) return false;
  if (!port.rate?.egressBps) return true;
  return !!ifb && ifb.up && ifb.qdisc === 'tbf' && ifb.alias === want;
}

function portRateSteps(port: PortPlan, exists: boolean, ifbExists: boolean): RateSteps {
  const p = port.port;
  const q = ifbName(p);
  const want = rateAlias(port.rate);
  const steps: RateSteps = { plan: port, clear: exists ? [`qdisc del dev ${p} root`, `qdisc del dev ${p} ingress`] : [], ip: [], tc: [], record: [] };
  const receives = port.rate?.ingressBps;
  const sends = port.rate?.egressBps;
  if (receives) steps.tc.push(`qdisc replace dev ${p} root ${tbf(receives)}`);
  if (sends) {
    if (!ifbExists) steps.ip.push(`link add ${q} type ifb`);
    steps.ip.push(`link set ${q} alias ${want} up`);
    steps.tc.push(
      `qdisc replace dev ${q} root ${tbf(sends)}`,
      `qdisc add dev ${p} ingress`,
      `filter add dev ${p} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ${q}`,
    );
  }
  steps.record.push(`link set ${p} alias ${want || '""'}`);
  return steps;
}

/**
 * A token bucket of 10 ms worth of the rate (at least 16 KB, so one TSO burst of a veth fits)
 * and 50 ms of queue: small enough that TCP sees the limit, large enough that it reaches it.
 */
export function tbf(bps: number): string {
  const burst = Math.max(16_000, Math.ceil(bps / 8 / 100));
  return `tbf rate ${bps}bit burst ${burst} latency 50ms`;
}
