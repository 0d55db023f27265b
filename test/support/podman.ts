/**
 * A private rootful podman 4.3 with the CNI backend (research/harness.md part C), for the
 * tests and the CNI benchmark: its own containers.conf and storage.conf (CONTAINERS_CONF and
 * CONTAINERS_STORAGE_CONF: podman then reads only those), its own --root/--runroot under a
 * temp dir, runc (crun rejects this machine's hybrid cgroups), lowered ulimits (root here has
 * no CAP_SYS_RESOURCE), and the CNI bin and config dirs it is given, where `tenet cni install`
 * wrote the plugin and the conflists. Nothing touches the system's podman configuration.
 *
 * `netns`: podman runs with `nsenter --net` in that (lab host) namespace, so whatever it does
 * to "the host's network" happens on the lab host; the mount namespace stays the caller's, on
 * purpose: podman bind-mounts each container's namespace under /run/netns, and the Tenet agent
 * (another process, or this one) must be able to open that path. A private mount namespace,
 * as the lab's dockerd has, would hide it from the agent.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PODMAN_IMAGE = 'localhost/tenet-busybox:test';
const BUSYBOX = '/bin/busybox';
const REPO = new URL('../../..', import.meta.url).pathname;

/** Installs podman and runc through scripts/install-deps.sh when missing; throws if that fails. */
export async function ensurePodman(): Promise<void> {
  const have = async () => (await run('sh', ['-c', 'command -v podman && command -v runc && command -v conmon']).then(() => true, () => false));
  if (await have()) return;
  await run(join(REPO, 'scripts', 'install-deps.sh'), [], { timeout: 600_000, maxBuffer: 16 << 20 });
  if (!(await have())) throw new Error('podman, runc or conmon still missing after scripts/install-deps.sh');
}

export interface PodmanPlan {
  /** The namespace podman runs in (a lab host's); absent: the caller's. */
  netns?: string;
  binDir: string;
  confDir: string;
}

export class PrivatePodman {
  readonly dir = mkdtempSync(join(tmpdir(), 'tpod-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly plan: PodmanPlan) {
    for (const d of ['root', 'runroot', 'tmp']) mkdirSync(join(this.dir, d));
    writeFileSync(join(this.dir, 'containers.conf'), containersConf(this.dir, plan));
    writeFileSync(join(this.dir, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${this.dir}/root"\nrunroot = "${this.dir}/runroot"\n`);
    this.env = { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(this.dir, 'storage.conf') };
  }

  /** The argv of one podman command (in the plan's namespace); for timing it elsewhere. */
  argv(...args: string[]): string[] {
    const podman = ['podman', '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), ...args];
    return this.plan.netns ? ['nsenter', `--net=/run/netns/${this.plan.netns}`, ...podman] : podman;
  }

  get processEnv(): NodeJS.ProcessEnv {
    return this.env;
  }

  /** Runs podman; resolves to stdout, rejects with podman's stderr in the message. */
  async podman(...args: string[]): Promise<string> {
    const [cmd, ...rest] = this.argv(...args);
    try {
      const { stdout } = await run(cmd!, rest, { env: this.env, timeout: 120_000, maxBuffer: 16 << 20 });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`podman ${args.join(' ')}: ${(e.stderr || e.message).trim().slice(0, 1500)}`);
    }
  }

  /** busybox-static as an image (one binary, a symlink per applet), through `podman import`. */
  async importBusybox(): Promise<void> {
    const root = join(this.dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    const { stdout } = await run(BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = join(this.dir, 'rootfs.tar');
    await run('tar', ['-C', root, '-cf', tar, '.']);
    await this.podman('import', '--change', 'ENV PATH=/bin', tar, PODMAN_IMAGE);
    rmSync(root, { recursive: true, force: true });
    rmSync(tar, { force: true });
  }

  /** Removes every container of this podman, unmounts whatever is left under its dir, deletes it. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.dir, 'containers.conf'))) await this.podman('rm', '-a', '-f', '-t', '0').catch(() => undefined);
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${this.dir}/`));
    for (const m of mounts.reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function containersConf(dir: string, plan: PodmanPlan): string {
  return `# Written by Tenet's tests (test/support/podman.ts): a private podman, harness.md part C.
[containers]
netns = "private"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["${plan.binDir}", "/usr/lib/cni"]
network_config_dir = "${plan.confDir}"
default_network = "tenet-none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/tmp/events.log"
runtime = "runc"
tmp_dir = "${dir}/tmp"
static_dir = "${dir}/root/libpod"
volume_path = "${dir}/root/volumes"
`;
}
