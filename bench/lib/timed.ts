/**
 * One timed attach, shared by the attach and convergence benchmarks: a fresh namespace (made
 * before the clock starts), then the clock from just before the agent API call until the new
 * address answers a ping from a probe (bounded: 5 s, else a failure). Endpoints stay attached
 * until the end, so an address is never reused within a run and no ARP or FDB entry of an
 * earlier iteration can answer for a later one.
 */
import type { AgentClient, ControllerClient } from '../../src/api/client.js';
import { addNamespaces, now, spawnFloor, waitReachable } from './kernel.js';
import { message } from './main.js';
import { fmt, latencyRow, median } from './stats.js';
import { NETWORK, TENANT } from './tenet.js';

export const REACH_LIMIT_MS = 5000;

export class Series {
  readonly api: number[] = [];
  readonly reach: number[] = [];
  /** reach − api of the same attach: what happens after the agent API has answered. */
  readonly after: number[] = [];
  readonly errors: string[] = [];
  tried = 0;

  constructor(readonly name: string) {}

  fail(what: string): void {
    this.errors.push(what);
    if (this.errors.length <= 3) console.error(`${this.name}: ${what}`);
  }
}

/** The three latency rows of a series: the call, until reachable, and the part after the call. */
export function seriesRows(s: Series, labels: [call: string, reach: string, after: string]): (string | number)[][] {
  return [latencyRow(labels[0], s.api, s.tried), latencyRow(labels[1], s.reach, s.tried), latencyRow(labels[2], s.after, s.tried)];
}

export interface Attached {
  agent: AgentClient;
  id: string;
  ns: string;
  ip: string;
  /** Wall clock (Date.now()) around the API call, to line up with the daemons' logs. */
  start: number;
  end: number;
}

/**
 * Times `connect` (which attaches the fresh namespace `ns` and resolves to its address) and
 * then until `probeNs` gets a ping answer from that address.
 */
export async function timed(series: Series, ns: string, probeNs: string, connect: () => Promise<string>): Promise<void> {
  series.tried++;
  await addNamespaces([ns]);
  const t0 = now();
  try {
    const ip = await connect();
    const api = now() - t0;
    series.api.push(api);
    const reach = await waitReachable(probeNs, ip, t0, REACH_LIMIT_MS);
    if (reach === undefined) series.fail(`${ip} (${ns}) did not answer ping within ${REACH_LIMIT_MS} ms`);
    else {
      series.reach.push(reach);
      series.after.push(reach - api);
    }
  } catch (err) {
    series.fail(`${ns}: ${message(err)}`);
  }
}

/** Attach `ns` through a Tenet agent, as `tenet ep attach` and the CNI plugin do. */
export function timedAttach(series: Series, agent: AgentClient, ns: string, probeNs: string, done: Attached[]): Promise<void> {
  return timed(series, ns, probeNs, async () => {
    const start = Date.now();
    const ep = await agent.attach({ tenant: TENANT, network: NETWORK, netns: `/run/netns/${ns}` });
    done.push({ agent, id: ep.id, ns, ip: ep.ip, start, end: Date.now() });
    return ep.ip;
  });
}

/**
 * Times an attach through `agent` until the controller says every host of the underlay has
 * realized the endpoint (GET /v1/endpoints/:id/realized, polled every 5 ms, bounded).
 */
export async function timedRealization(series: number[], agent: AgentClient, controller: ControllerClient, ns: string, done: Attached[]): Promise<void> {
  await addNamespaces([ns]);
  const t0 = now();
  const start = Date.now();
  const ep = await agent.attach({ tenant: TENANT, network: NETWORK, netns: `/run/netns/${ns}` });
  done.push({ agent, id: ep.id, ns, ip: ep.ip, start, end: Date.now() });
  while (now() - t0 < REACH_LIMIT_MS) {
    if ((await controller.endpointRealization(ep.id)).realized) {
      series.push(now() - t0);
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  console.error(`${ns}: not realized on every host within ${REACH_LIMIT_MS} ms`);
}

/** Not timed: detach everything attached, one at a time, each failure only reported. */
export async function detachAll(done: Attached[]): Promise<void> {
  let failed = 0;
  for (const a of done.splice(0)) await a.agent.detach(a.id).catch(() => failed++);
  if (failed) console.error(`detach: ${failed} endpoint(s) could not be detached (lab down removes them)`);
}

/**
 * The instrument's own cost, included in every "until ping answers" figure: the same ping
 * wait against an address that already answers (the gateway), and a bare spawn of
 * `nsenter --net=<ns> true`; medians of 20 each.
 */
export async function instrumentFloor(probeNs: string, answering: string): Promise<{ ping: number; spawn: number }> {
  const pings: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = await waitReachable(probeNs, answering, now(), REACH_LIMIT_MS);
    if (t !== undefined) pings.push(t);
  }
  return { ping: median(pings), spawn: median(await spawnFloor(['nsenter', `--net=/run/netns/${probeNs}`, 'true'])) };
}

export function floorText(name: string, start: { ping: number; spawn: number }, end: { ping: number; spawn: number }): string {
  return `${name}: ping wait on an answering address p50 ${fmt(start.ping)} ms at the start, ${fmt(end.ping)} ms at the end; bare spawn ${fmt(start.spawn)} → ${fmt(end.spawn)} ms`;
}
