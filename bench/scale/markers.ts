/**
 * The timed endpoint changes: each creates an endpoint `mk-N` in a tenant through the API
 * and waits (bounded) until every agent of a host carrying that tenant has it. The changes
 * go to tenants of every tier: 20 % to 2 large tenants, 30 % to 5 medium ones, 50 % each to
 * its own small tenant (at 50 changes: 10, 15, 25), seeded, spaced evenly over the window.
 */
import { sleep } from '../../src/base/async.js';
import type { ControllerClient } from '../../src/api/client.js';
import type { Cleanup } from '../lib/main.js';
import { createSimEndpoint } from './populate.js';
import { rng, type Population, type TenantSpec, type Tier } from './population.js';
import { MARKER_PREFIX, now } from './protocol.js';
import type { SimAgents } from './sims.js';

export interface Marker {
  id: string;
  tenant: TenantSpec;
  host: string;
}

export interface MarkerResult {
  marker: Marker;
  concerned: number;
  arrived: number;
  /** Change sent → the last concerned agent has it (NaN when some never did within the bound). */
  allMs: number;
  apiMs: number;
}

const MARKER_NS_BASE = 20_000_000;
export const ARRIVAL_BOUND_MS = 15_000;

export function planMarkers(pop: Population, changes: number, seed = 2): Marker[] {
  const rand = rng(seed);
  const of = (tier: Tier) => pop.tenants.filter((t) => t.tier === tier);
  const plan: TenantSpec[] = [];
  const take = (tier: Tier, n: number, tenants: number) => {
    const ts = of(tier).slice(0, tenants);
    for (let i = 0; i < n && ts.length > 0; i++) plan.push(ts[i % ts.length]!);
  };
  const large = Math.round(changes * 0.2);
  const medium = Math.round(changes * 0.3);
  take('large', large, 2);
  take('medium', medium, 5);
  take('small', changes - large - medium, changes);
  return plan.map((tenant, i) => ({ id: `${MARKER_PREFIX}${i}`, tenant, host: tenant.hosts[Math.floor(rand() * tenant.hosts.length)]! }));
}

export function hostsConcerned(markers: Marker[]): Set<string> {
  return new Set(markers.flatMap((m) => m.tenant.hosts));
}

export async function runMarkers(c: ControllerClient, sims: SimAgents, markers: Marker[], windowMs: number, cleanup: Cleanup, watchdog: () => void): Promise<MarkerResult[]> {
  const results: MarkerResult[] = [];
  const spacing = windowMs / Math.max(1, markers.length);
  const start = Date.now();
  for (const [i, marker] of markers.entries()) {
    cleanup.check();
    await sleep(Math.max(0, start + i * spacing - Date.now()));
    watchdog();
    const t0 = now();
    await createSimEndpoint(c, marker.tenant.name, marker.id, marker.host, MARKER_NS_BASE + i);
    const apiMs = now() - t0;
    const concerned = marker.tenant.hosts;
    const arrivedAll = () => concerned.every((h) => sims.arrivals.get(marker.id)?.has(h));
    while (!arrivedAll() && now() - t0 < ARRIVAL_BOUND_MS) await sleep(5);
    const got = sims.arrivals.get(marker.id) ?? new Map<string, number>();
    const times = concerned.map((h) => got.get(h)).filter((t): t is number => t !== undefined);
    const allMs = times.length === concerned.length ? Math.max(...times) - t0 : NaN;
    results.push({ marker, concerned: concerned.length, arrived: times.length, allMs, apiMs });
  }
  await sleep(Math.max(0, start + windowMs - Date.now())); // the window is the same length whatever the fan-out took
  return results;
}
