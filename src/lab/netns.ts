/**
 * The lab's kernel work, all through the CommandRunner and batched one `ip -batch -` per
 * namespace: the underlay is a bridge `ul0` in its own namespace, and each simulated host
 * is a namespace whose `eth0` is a veth to that bridge (the far end is `ul-hN`). Nothing is
 * created in the root namespace, so the lab cannot disturb the machine's own networking.
 */
import { existsSync, readdirSync } from 'node:fs';
import { MarkerOwnership, type NamespaceOwnership } from '../datapath/ownership.js';
import type { CommandRunner } from '../datapath/runner.js';
import { UNDERLAY_MTU, type HostPlan } from './config.js';

const NETNS_DIR = '/run/netns';

/**
 * Names of the named namespaces. `ip` can fail to look up the id of a namespace another
 * process is deleting at that moment ("Peer netns reference is invalid"); the names are
 * still right, so a failure falls back to the directory `ip netns` keeps them in.
 */
export async function listNamespaces(runner: CommandRunner): Promise<string[]> {
  const { code, stdout } = await runner.run(['ip', '-j', 'netns', 'list'], { allowFail: true });
  try {
    if (code === 0) return stdout.trim() ? (JSON.parse(stdout) as { name: string }[]).map((n) => n.name) : [];
  } catch {
    // fall through to the directory
  }
  return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : [];
}

/**
 * Lab hosts and the underlay are marked as Tenet's (datapath/ownership.ts), so no agent
 * attaches a workload into them; lab containers are workloads and stay unmarked.
 */
export async function addNamespaces(runner: CommandRunner, names: string[], owned: NamespaceOwnership = new MarkerOwnership()): Promise<void> {
  for (const n of names) await owned.intend(n);
  await runner.run(['ip', '-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
  for (const n of names) await owned.mark(n);
}

/** Deletes what exists of `names`; -force keeps going past one that vanished meanwhile. */
export async function deleteNamespaces(runner: CommandRunner, names: string[], owned: NamespaceOwnership = new MarkerOwnership()): Promise<void> {
  if (names.length === 0) return;
  await runner.run(['ip', '-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}\n`).join(''), allowFail: true });
  for (const n of names) await owned.forget(n);
}

export function underlayBatch(hosts: HostPlan[]): string {
  const lines = ['link set lo up', `link add ul0 mtu ${UNDERLAY_MTU} type bridge`, 'link set ul0 up'];
  for (const h of hosts) {
    lines.push(`link add ul-${h.name} mtu ${UNDERLAY_MTU} type veth peer name eth0 mtu ${UNDERLAY_MTU} netns ${h.netns}`);
    lines.push(`link set ul-${h.name} master ul0 up`);
  }
  return `${lines.join('\n')}\n`;
}

export function hostBatch(h: HostPlan, prefixLen: number): string {
  return ['link set lo up', 'link set eth0 up', `addr add ${h.vtep}/${prefixLen} dev eth0`, ''].join('\n');
}

export async function buildUnderlay(runner: CommandRunner, ulNs: string, hosts: HostPlan[], prefixLen: number): Promise<void> {
  await runner.run(['ip', '-n', ulNs, '-batch', '-'], { input: underlayBatch(hosts) });
  for (const h of hosts) await runner.run(['ip', '-n', h.netns, '-batch', '-'], { input: hostBatch(h, prefixLen) });
}

export async function addContainerNamespace(runner: CommandRunner, ns: string): Promise<void> {
  await runner.run(['ip', 'netns', 'add', ns]);
  await runner.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}
