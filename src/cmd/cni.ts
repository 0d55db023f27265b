/**
 * `tenet cni install`: puts the `tenet` CNI plugin where runtimes look for plugins and a
 * conflist per Tenet network (or only --net N) where they look for networks, then says what
 * it wrote and which executable (the C forwarder, or the sh script without a C compiler). The plugin talks to this host's agent on its CNI socket (agent --cni-socket).
 */
import type { Command } from 'commander';
import { print, withController } from '../cli/context.js';
import { DEFAULT_CNI_SOCKET } from '../agent/cni-server.js';
import { DEFAULT_BIN_DIR, DEFAULT_CONF_DIR, installCni } from '../cni/install.js';
import { TenetError } from '../model/errors.js';

interface InstallFlags {
  binDir: string;
  confDir: string;
  net?: string;
  tenant?: string;
  socket: string;
  sh?: boolean;
}

export function addCniCommands(program: Command): void {
  const cni = program.command('cni').description('CNI plugin for podman, containerd and Kubernetes runtimes');
  cni
    .command('install')
    .description('write the tenet plugin into the CNI bin dir and a conflist per Tenet network into the config dir')
    .option('--bin-dir <dir>', 'where the runtime finds CNI plugins', DEFAULT_BIN_DIR)
    .option('--conf-dir <dir>', 'where the runtime finds CNI network configs', DEFAULT_CONF_DIR)
    .option('--net <network>', 'only this network')
    .option('--tenant <tenant>', 'only networks of this tenant')
    .option('--socket <path>', "the agent's CNI socket (its --cni-socket)", DEFAULT_CNI_SOCKET)
    .option('--sh', 'write the sh script over curl even when a C compiler could build the faster forwarder')
    .action(async (f: InstallFlags, cmd: Command) => {
      const all = await withController(cmd, (c) => c.listNetworks(f.tenant));
      const networks = all.filter((n) => !f.net || n.name === f.net);
      if (f.net && networks.length === 0) throw new TenetError('NETWORK_NOT_FOUND', `no network ${f.net}${f.tenant ? ` in tenant ${f.tenant}` : ''}`, 'list them with tenet net ls');
      const installed = installCni({ ...f, networks, plugin: f.sh ? 'sh' : 'auto' });
      for (const path of installed.files) print(cmd, `wrote ${path}\n`);
      print(cmd, `the plugin is ${installed.plugin}\n`);
    });
}
