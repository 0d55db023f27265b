/**
 * What `tenet cni install` writes: the plugin executable (a POSIX shell script over curl's
 * unix-socket mode, ADR 018) into the runtime's CNI bin dir, and one conflist per Tenet
 * network into its config dir. Files are written beside their target and renamed over it, so
 * a runtime never executes or reads half a file (and never meets "text file busy").
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../model/types.js';
import { PLUGIN_TYPE } from './config.js';
import { SUPPORTED_VERSIONS } from './types.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
/** The tenant whose networks keep their plain name in the runtime (others are NAME.TENANT). */
export const DEFAULT_CNI_TENANT = 'admin';
/** What conflists declare: podman 4.3's libcni speaks 1.0.0, the reference plugins 1.1.1 too. */
export const CONFLIST_VERSION = '1.0.0';

/** The runtime's name for a Tenet network: unique across tenants, and a valid conflist name. */
export const cniNetworkName = (net: Pick<Network, 'tenant' | 'name'>): string => (net.tenant === DEFAULT_CNI_TENANT ? net.name : `${net.name}.${net.tenant}`);

export function conflist(net: Pick<Network, 'tenant' | 'name'>): object {
  return {
    cniVersion: CONFLIST_VERSION,
    name: cniNetworkName(net),
    plugins: [{ type: PLUGIN_TYPE, tenant: net.tenant, network: net.name, capabilities: { portMappings: true, ips: true, mac: true } }],
  };
}

/**
 * The executable. VERSION is answered here without the agent (podman runs it for every
 * conflist whenever the config dir changes); everything else is one curl to the agent, and a
 * failure to reach it is a CNI error ("try again later") on stdout, never a silent exit.
 */
export function pluginScript(socket: string): string {
  const versions = SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(',');
  const q = (name: string) => `--url-query "${name}=$${name}"`;
  return `#!/bin/sh
# Tenet's CNI plugin, written by \`tenet cni install\` (docs/adr/018-cni-executable.md).
# It forwards the call to the Tenet agent, which does all the work, and prints its answer.
sock="\${TENET_CNI_SOCKET:-${socket}}"
if [ "$CNI_COMMAND" = VERSION ]; then
  v=$(sed -n '/"cniVersion"/{s/.*"cniVersion"[[:space:]]*:[[:space:]]*"\\([0-9.]*\\)".*/\\1/p;q;}')
  case "$v" in ${SUPPORTED_VERSIONS.join('|')}) ;; *) v=${SUPPORTED_VERSIONS.at(-1)} ;; esac
  printf '{"cniVersion":"%s","supportedVersions":[${versions}]}\\n' "$v"
  exit 0
fi
curl -sS --fail-with-body --max-time 60 --unix-socket "$sock" -H 'content-type: application/json' \\
  ${['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS'].map(q).join(' ')} \\
  --data-binary @- http://tenet/v1/cni
rc=$?
[ "$rc" -eq 0 ] && exit 0
[ "$rc" -eq 22 ] && exit 1
printf '{"cniVersion":"1.0.0","code":11,"msg":"the Tenet agent did not answer on %s (curl exit %s): start it (tenet agent or tenet up), then retry"}\\n' "$sock" "$rc"
exit 1
`;
}

export interface InstallPlan {
  binDir: string;
  confDir: string;
  socket: string;
  networks: Pick<Network, 'tenant' | 'name'>[];
}

/** Writes the executable and the conflists; returns the paths written. */
export function installCni(plan: InstallPlan): string[] {
  mkdirSync(plan.binDir, { recursive: true });
  mkdirSync(plan.confDir, { recursive: true });
  const bin = join(plan.binDir, PLUGIN_TYPE);
  replaceFile(bin, pluginScript(plan.socket), 0o755);
  const confs = plan.networks.map((net) => {
    const path = join(plan.confDir, `40-tenet-${cniNetworkName(net)}.conflist`);
    replaceFile(path, `${JSON.stringify(conflist(net), null, 2)}\n`, 0o644);
    return path;
  });
  return [bin, ...confs];
}

function replaceFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
