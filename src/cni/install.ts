/**
 * What `tenet cni install` writes: the plugin executable into the runtime's CNI bin dir, and
 * one conflist per Tenet network into its config dir. The executable is the C forwarder
 * (forwarder.c, compiled here when a C compiler is present: ≈ 3 ms against ≈ 27 ms for sh +
 * curl, ADR 018), else a POSIX shell script over curl's unix-socket mode with the same
 * contract. Files are written beside their target and renamed over it, so a runtime never
 * executes or reads half a file (and never meets "text file busy").
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
case "$rc" in 7) why='cannot connect' ;; 28) why='timed out' ;; *) why="curl exit $rc" ;; esac
printf '{"cniVersion":"1.0.0","code":11,"msg":"the Tenet agent did not answer on %s (%s): start it (tenet agent or tenet up), then retry"}\\n' "$sock" "$why"
exit 1
`;
}

/** Which executable to write: the C forwarder when it compiles (auto), or the sh script. */
export type PluginChoice = 'auto' | 'sh';

export interface InstallPlan {
  binDir: string;
  confDir: string;
  socket: string;
  networks: Pick<Network, 'tenant' | 'name'>[];
  plugin?: PluginChoice;
}

export interface Installed {
  /** The executable first, then the conflists. */
  files: string[];
  /** One line for the user: which executable, and why the script when it is the script. */
  plugin: string;
}

/** Writes the executable and the conflists; says what it wrote. */
export function installCni(plan: InstallPlan): Installed {
  mkdirSync(plan.binDir, { recursive: true });
  mkdirSync(plan.confDir, { recursive: true });
  const bin = join(plan.binDir, PLUGIN_TYPE);
  const plugin = installExecutable(bin, plan.socket, plan.plugin ?? 'auto');
  const confs = plan.networks.map((net) => {
    const path = join(plan.confDir, `40-tenet-${cniNetworkName(net)}.conflist`);
    replaceFile(path, `${JSON.stringify(conflist(net), null, 2)}\n`, 0o644);
    return path;
  });
  return { files: [bin, ...confs], plugin };
}

function installExecutable(bin: string, socket: string, choice: PluginChoice): string {
  if (choice === 'auto') {
    const built = compileForwarder(bin, socket);
    if (built.ok) return `the C forwarder (${built.how})`;
    replaceFile(bin, pluginScript(socket), 0o755);
    return `the sh script over curl (${built.why})`;
  }
  replaceFile(bin, pluginScript(socket), 0o755);
  return 'the sh script over curl (asked for)';
}

/** forwarder.c: beside this module when run from src/, at the repository's src/cni/ from dist/. */
export function forwarderSource(): string | undefined {
  const candidates = ['./forwarder.c', '../../../src/cni/forwarder.c'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((path) => existsSync(path));
}

type Built = { ok: true; how: string } | { ok: false; why: string };

/**
 * Compiles the forwarder into bin (through a temporary file and a rename), static when the C
 * library's static archive is installed (no loader, no shared libraries to map at each
 * start), dynamic otherwise. The socket and the supported versions are baked in as macros.
 */
export function compileForwarder(bin: string, socket: string): Built {
  const source = forwarderSource();
  if (!source) return { ok: false, why: 'forwarder.c not found beside the build' };
  const tmp = `${bin}.tmp-${process.pid}`;
  const macros = [
    `-DTENET_SOCKET=${JSON.stringify(socket)}`,
    `-DTENET_VERSIONS=${JSON.stringify(SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(','))}`,
    `-DTENET_LATEST=${JSON.stringify(SUPPORTED_VERSIONS.at(-1))}`,
  ];
  let why = '';
  for (const [how, flags] of [['static', ['-static']], ['dynamic', []]] as const) {
    try {
      execFileSync('cc', ['-O2', ...flags, ...macros, '-o', tmp, source], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      chmodSync(tmp, 0o755);
      renameSync(tmp, bin);
      return { ok: true, how: `cc -O2${how === 'static' ? ' -static' : ''}` };
    } catch (err) {
      rmSync(tmp, { force: true });
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') return { ok: false, why: 'no C compiler (cc) on this machine' };
      const lines = (e.stderr?.toString() || e.message).trim().split('\n');
      why = lines.find((l) => /error/.test(l)) ?? lines[0]!;
    }
  }
  return { ok: false, why: `cc failed: ${why}` };
}

function replaceFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
