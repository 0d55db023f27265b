/**
 * Handoff ports (ADR 005, "Handoff, realized"): for a runtime that moves an interface into
 * its sandbox itself (Docker's Join), Tenet makes a veth pair whose tenant side `tnv<h>` sits
 * on the network's bridge exactly like a netns port (same pinning, same MTU), and whose other
 * end `tnh<h>` is born in the agent's own namespace with the endpoint's MAC and the MTU, left
 * DOWN and unconfigured; one `ip` process makes both (port-create.ts). The runtime moves it, renames it and configures it; Tenet never
 * sees that side again.
 *
 * Why the pair lives or dies with its tenant side: deleting either end of a veth deletes both.
 * So the tenant side is what the reconciler plans and reads (diff.ts, like any port): while it
 * exists, the host side exists too (here or moved into a sandbox) and is never made again; a
 * removed endpoint's stale tenant side takes the moved interface with it; and when a sandbox
 * is destroyed (which destroys the pair) the tenant side is missing at the next read-back and
 * the pair is made again here, for a restarted runtime to take at its next Join.
 *
 * Kept apart from diff.ts and kernel-ops.ts so those files stay about netns ports.
 */
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { PortSteps } from './diff.js';
import type { KernelOps } from './kernel-ops.js';
import { isHandoff } from './names.js';
import { parseLinks } from './observe.js';
import type { PortPlan } from './plan.js';
import { vethIntoTenant } from './port-create.js';
import { CommandError, type CommandRunner } from './runner.js';
import type { LinkState } from './state.js';

/** Nothing follows the pair's creation: the runtime configures the host side (port-create.ts makes the pair). */
export function newHandoffPort(port: PortPlan): PortSteps {
  return { plan: port, workload: [] };
}

/**
 * An MTU change of the network reaches the host side while it waits for its runtime; once
 * moved it is the runtime's (the command then fails, and fixHandoffHost only logs it).
 */
export function handoffMtuFix(port: PortPlan): string[] {
  return [`link set ${port.handoff!} mtu ${port.mtu}`];
}

/** Best effort, like KernelOps.fixWorkload: the interface may have been moved away. */
export async function fixHandoffHost(runner: CommandRunner, logger: Logger, hostIp: string[], commands: string[]): Promise<void> {
  const r = await runner.run([...hostIp, '-batch', '-'], { input: commands.join('\n') + '\n', allowFail: true });
  if (r.code !== 0) logger.info({ detail: r.stderr.trim() }, 'a handoff interface was not in the agent namespace (moved by its runtime); its MTU is the runtime\'s');
}

/**
 * Creates a handoff pair in one process (port-create.ts): run in the agent's namespace, its
 * tenant side is born in the tenant namespace on the bridge of index `bridgeIndex`, up; the
 * host side stays here, DOWN, with the endpoint's MAC and the MTU. Or removes whatever of it
 * exists and explains why. A `tnh` name already taken in the agent's namespace while the
 * tenant side is missing can only be a broken leftover of this very endpoint (the name hashes
 * its id): it is deleted and the pair made once more.
 */
export async function createHandoffPort(ops: KernelOps, runner: CommandRunner, logger: Logger, hostIp: string[], ns: string, port: PortSteps, bridgeIndex: number): Promise<TenetError | undefined> {
  const hostIfname = port.plan.handoff!;
  const run = () => ops.batch([...hostIp, '-batch', '-'], [vethIntoTenant(ns, port.plan, hostIfname, bridgeIndex)]);
  try {
    try {
      await run();
    } catch (err) {
      if (!(err instanceof CommandError && /File exists/.test(err.result.stderr))) throw err;
      logger.warn({ endpoint: port.plan.endpointId, hostIfname }, 'replacing a leftover handoff interface whose tenant side was gone');
      await runner.run([...hostIp, 'link', 'del', hostIfname], { allowFail: true });
      await run();
    }
    return undefined;
  } catch (err) {
    await runner.run([...hostIp, 'link', 'del', hostIfname], { allowFail: true });
    const detail = err instanceof CommandError ? err.result.stderr.trim() : String(err);
    logger.warn({ endpoint: port.plan.endpointId, ns, detail }, 'handoff port creation failed, rolled back');
    return new TenetError('DATAPATH_FAILED', `could not create the handoff interface ${hostIfname} of endpoint ${port.plan.endpointId}: ${detail.split('\n')[0]}`, 'see the agent log');
  }
}

/**
 * What to change among the `tnh*` interfaces still in the agent's namespace: a planned one
 * that waits for its runtime gets the endpoint's MAC and the network's MTU back. Once moved
 * out of this namespace an interface is the runtime's, and absent from `links`. `leftAlone`:
 * names of a tenant whose plan was refused (plan-check.ts), whose namespace is not touched
 * either.
 *
 * One of no planned port is left alone, never deleted: its tenant side is in a namespace
 * that is not ours (another agent's on the same machine: test labs, benchmarks, a second
 * `tenet up`), since a stale pair of ours dies with its tenant side in the tenants' own
 * cleanup (deleting either end of a veth deletes both). Deleting it here once took the
 * interface another agent had just handed to dockerd ("failed to add interface tnh… to
 * sandbox: Link not found").
 */
export function hostHandoffCommands(links: Map<string, LinkState>, planned: PortPlan[], leftAlone: Set<string> = new Set()): string[] {
  const wanted = new Map(planned.filter((p) => p.handoff !== undefined).map((p) => [p.handoff!, p]));
  const out: string[] = [];
  for (const link of links.values()) {
    const p = wanted.get(link.name);
    if (leftAlone.has(link.name)) continue;
    if (p && (link.mtu !== p.mtu || link.mac !== p.mac)) out.push(`link set ${link.name} address ${p.mac} mtu ${p.mtu}`);
  }
  return out;
}

/**
 * Full reconcile only (a targeted call trusts the pair it made): reads the agent namespace's
 * `tnh*` interfaces and applies hostHandoffCommands. Returns the commands run.
 */
export async function sweepHostHandoffs(ops: KernelOps, runner: CommandRunner, hostIp: string[], planned: PortPlan[], leftAlone: Set<string>): Promise<string[]> {
  const r = await runner.run([...hostIp, '-j', '-d', 'addr', 'show']);
  const commands = hostHandoffCommands(parseLinks(r.stdout, isHandoff), planned, leftAlone);
  await ops.batch([...hostIp, '-batch', '-'], commands);
  return commands;
}
