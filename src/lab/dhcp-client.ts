/**
 * `tenet lab run … --dhcp` (issue 10): the container's interface loses the address the
 * attach gave it (and its MTU falls back to Ethernet's 1500), then busybox udhcpc, run in
 * the container's namespace, asks Tenet's DHCP server for everything again. The script
 * udhcpc calls is written here: a lab container has no /etc/udhcpc of its own, and its
 * /etc/resolv.conf is the per-namespace file `ip netns exec` mounts (/etc/netns/NS/).
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { CommandRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';

/** Applies a udhcpc lease: address, MTU, default route, resolver. */
export const UDHCPC_SCRIPT = `#!/bin/sh
# Written by tenet lab: applies a udhcpc lease inside a lab container's namespace.
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" \${broadcast:+broadcast "$broadcast"} dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    {
      [ -n "$search" ] && echo "search $search"
      for d in $dns; do echo "nameserver $d"; done
    } > /etc/resolv.conf
    ;;
esac
exit 0
`;

export function resolvDir(ns: string): string {
  return `/etc/netns/${ns}`;
}

function writeScript(labDir: string): string {
  mkdirSync(labDir, { recursive: true });
  const path = `${labDir}/udhcpc.script`;
  writeFileSync(path, UDHCPC_SCRIPT);
  chmodSync(path, 0o755);
  return path;
}

/** Strips the attach's configuration from eth0 and runs udhcpc until it holds a lease. */
export async function configureByDhcp(runner: CommandRunner, labDir: string, ns: string, ifname = 'eth0'): Promise<void> {
  const script = writeScript(labDir);
  // `ip netns exec` bind-mounts this file over /etc/resolv.conf only if it exists before.
  mkdirSync(resolvDir(ns), { recursive: true });
  writeFileSync(`${resolvDir(ns)}/resolv.conf`, '');
  await runner.run(['ip', '-n', ns, 'addr', 'flush', 'dev', ifname]);
  await runner.run(['ip', '-n', ns, 'link', 'set', ifname, 'mtu', '1500']);
  // The agent binds its DHCP socket after the reconcile of a new tenant namespace: udhcpc retries meanwhile.
  const r = await runner.run(['ip', 'netns', 'exec', ns, 'busybox', 'udhcpc', '-i', ifname, '-f', '-q', '-n', '-t', '20', '-T', '1', '-s', script, '-O', 'mtu', '-O', 'search'], { allowFail: true });
  if (r.code !== 0) {
    throw new TenetError('LAB_ERROR', `udhcpc in ${ns} got no lease: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, "check the host's agent log for the DHCP server (component dhcp)");
  }
}

/**
 * The resolv.conf of a container without --dhcp: the network's DNS server (the agent's, on
 * the gateway) and the search list the DHCP server hands out (`<network>.<tenant>`,
 * `<tenant>`), so `nslookup c2` works as it does in a Docker or CNI container.
 * `ip netns exec` (hence `tenet lab exec`) mounts it over /etc/resolv.conf.
 */
export function writeResolv(ns: string, ep: { gateway: string; network: string; tenant: string }): void {
  mkdirSync(resolvDir(ns), { recursive: true });
  const search = `${ep.network}.${ep.tenant} ${ep.tenant}`.toLowerCase();
  writeFileSync(`${resolvDir(ns)}/resolv.conf`, `# Written by tenet lab run: Tenet's DNS server of ${ep.tenant}/${ep.network}\nnameserver ${ep.gateway}\nsearch ${search}\n`);
}

export function removeResolv(ns: string): void {
  rmSync(resolvDir(ns), { recursive: true, force: true });
}
