/**
 * A real dockerd per lab host (`tenet lab up --docker`), and the private dockerd of a test or
 * benchmark (private-dockerd.ts): harness.md part B. Each daemon has vfs storage, no bridge, no
 * iptables, its own data root, exec root, pidfile, socket and containerd namespace, all
 * under one directory, so daemons never share anything with each other or a system Docker.
 *
 * dockerd finds plugins by a socket in the fixed /run/docker/plugins (then spec files in
 * /etc/docker/plugins and /usr/lib/docker/plugins). To make each daemon find its OWN host's
 * agent, it runs in a private mount namespace where the daemon's plugin directory is bound
 * over /run/docker/plugins and the spec directories are masked by an empty one. It enters
 * the host's network namespace with `nsenter --net`, not `ip netns exec`: the latter
 * remounts /sys, hides the cgroup v1 mounts and dockerd dies ("Devices cgroup isn't
 * mounted"). unshare, sh and nsenter all exec, so the PID we start is dockerd's.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../base/async.js';
import { TenetError } from '../model/errors.js';
import { logTail, readCmdline, stopProcesses } from './procs.js';

const run = promisify(execFile);
const PLUGIN_DIR = '/run/docker/plugins';
const SPEC_DIRS = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];
/** busybox-static (Debian's busybox-static, or a static busybox): the lab's only image. */
export const BUSYBOX_BINARY = '/bin/busybox';
export const LAB_IMAGE = 'busybox:latest';
/** dockerd is ready in ~2 s on an idle machine; a loaded 2-core box needs far more. */
export const DOCKERD_READY_MS = 90_000;

/** Where one dockerd keeps everything; `dir` is removed whole when it stops. */
export interface DockerdPlan {
  dir: string;
  socket: string;
  /**
   * Bound over /run/docker/plugins for this daemon: the agent's plugin socket lives here.
   * /run/docker/plugins itself when the daemon shares its caller's plugins (a test's).
   */
  pluginDir: string;
  pluginSocket: string;
  pidFile: string;
  log: string;
  containerdNamespace: string;
  /** The network namespace it runs in; undefined: the caller's own. */
  netns?: string;
}

export function planDockerd(dir: string, containerdNamespace: string, netns?: string, sharedPlugins = false): DockerdPlan {
  const pluginDir = sharedPlugins ? PLUGIN_DIR : join(dir, 'plugins');
  return {
    dir,
    socket: join(dir, 'docker.sock'),
    pluginDir,
    pluginSocket: join(pluginDir, 'tenet.sock'),
    pidFile: join(dir, 'dockerd.pid'),
    log: join(dir, 'dockerd.log'),
    containerdNamespace,
    netns,
  };
}

/** The dockerd command line; `--data-root DIR/data` is how `down` recognises it later. */
export function dockerdArgv(p: DockerdPlan): string[] {
  return [
    'dockerd', '--data-root', join(p.dir, 'data'), '--exec-root', join(p.dir, 'exec'), '--pidfile', p.pidFile,
    '-H', `unix://${p.socket}`, '--storage-driver=vfs', '--iptables=false', '--ip-masq=false', '--bridge=none',
    '--containerd-namespace', p.containerdNamespace, '--containerd-plugins-namespace', `${p.containerdNamespace}-plugins`,
  ];
}

/** The shell script run in the private mount namespace (quoted: lab paths are ours, no spaces). */
export function startScript(p: DockerdPlan): string {
  const own = p.pluginDir !== PLUGIN_DIR;
  const masks = own ? SPEC_DIRS.filter((d) => existsSync(d)).map((d) => `mount --bind ${join(p.dir, 'nospec')} ${d}`) : [];
  const bind = own ? [`mount --bind ${p.pluginDir} ${PLUGIN_DIR}`] : [];
  const enter = p.netns ? `nsenter --net=/run/netns/${p.netns} ` : '';
  return ['set -e', ...bind, ...masks, `exec ${enter}${dockerdArgv(p).join(' ')}`].join('\n');
}

/** Starts dockerd detached (it outlives `tenet lab up`); resolves to its PID once it answers. */
export async function startDockerd(p: DockerdPlan, readyMs = DOCKERD_READY_MS): Promise<number> {
  for (const d of [p.dir, join(p.dir, 'data'), join(p.dir, 'exec'), p.pluginDir, join(p.dir, 'nospec'), PLUGIN_DIR]) mkdirSync(d, { recursive: true });
  const fd = openSync(p.log, 'a');
  const pid = await new Promise<number>((resolve, reject) => {
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', startScript(p)], { detached: true, stdio: ['ignore', fd, fd] });
    child.once('error', (err) => reject(new TenetError('LAB_ERROR', `cannot start dockerd: ${err.message}`, 'install docker.io (dockerd) and util-linux (unshare, nsenter)')));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  }).finally(() => closeSync(fd));
  await waitReady(p, pid, readyMs);
  return pid;
}

async function waitReady(p: DockerdPlan, pid: number, readyMs: number): Promise<void> {
  const deadline = Date.now() + readyMs;
  // sh execs nsenter, which execs dockerd: give the chain a moment before "gone" counts.
  for (let missing = 0; Date.now() < deadline; await sleep(200)) {
    if (await pingDockerd(p.socket)) return;
    missing = readCmdline(pid) ? 0 : missing + 1;
    if (missing >= 3) throw new TenetError('LAB_ERROR', `dockerd exited while starting: ${logTail(p.log)}`, `see ${p.log}`);
  }
  throw new TenetError('LAB_ERROR', `dockerd did not answer on ${p.socket} within ${readyMs / 1000} s`, `see ${p.log}`);
}

/** A dockerd recognised by its data root: PIDs are reused, a stale record must not kill another process. */
export function isDockerd(cmdline: string, dir: string): boolean {
  return ` ${cmdline} `.includes(` --data-root ${join(dir, 'data')} `) && /(^|\/)dockerd /.test(cmdline);
}

/**
 * Stops a dockerd and everything it started: its containers are force-removed first (each
 * would otherwise wait out its stop timeout, and the plugin must still be there to release
 * their endpoints), then TERM (KILL after a grace), then any containerd or shim still
 * naming the daemon's directory. Returns the dockerd PIDs it stopped. Without
 * `removeContainers` it is a daemon restart's stop: dockerd stops its containers itself.
 */
export async function stopDockerd(p: DockerdPlan, pid: number | undefined, removeContainers = true): Promise<number[]> {
  if (removeContainers && (await pingDockerd(p.socket))) await removeAllContainers(p.socket).catch(() => undefined);
  const ours = (x: number) => isDockerd(readCmdline(x), p.dir);
  const daemons = [...new Set([...(pid !== undefined ? [pid] : []), ...scanProcesses((cmd) => isDockerd(cmd, p.dir))])];
  const stopped = await stopProcesses(daemons, ours, 20_000);
  const leftover = (cmd: string) => /containerd/.test(cmd.split(' ')[0] ?? '') && cmd.includes(`${p.dir}/`);
  await stopProcesses(scanProcesses(leftover), (x) => leftover(readCmdline(x)), 2000);
  return stopped;
}

/**
 * Removes a stopped daemon's directory. Its mounts lived in its own mount namespace and
 * went with it; a lazy unmount catches anything else under the directory first.
 */
export async function removeDockerdDir(p: DockerdPlan): Promise<void> {
  await unmountUnder(p.dir);
  rmSync(p.dir, { recursive: true, force: true, maxRetries: 3 });
}

/** PIDs (not ours) whose command line passes `match`. */
export function scanProcesses(match: (cmdline: string) => boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map(Number)
    .filter((pid) => match(readCmdline(pid)));
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of mounts.sort().reverse()) await run('umount', ['-l', m]).catch(() => undefined);
}

/** Mounts left under `dir` (a test's "nothing left behind" check). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
}

async function removeAllContainers(socket: string): Promise<void> {
  const list = await api(socket, 'GET', '/containers/json?all=1', undefined, 5000);
  const ids = (JSON.parse(list.body) as { Id: string }[]).map((c) => c.Id);
  await Promise.all(ids.map((id) => api(socket, 'DELETE', `/containers/${id}?force=1&v=1`, undefined, 20_000).catch(() => undefined)));
}

export async function pingDockerd(socket: string): Promise<boolean> {
  return (await api(socket, 'GET', '/_ping', undefined, 2000).catch(() => ({ status: 0 }))).status === 200;
}

/**
 * Imports busybox-static as `tag` (one binary and a symlink per applet), the way `docker
 * import` does it: a tar on POST /images/create. Per daemon: with vfs it is a 2 MB copy.
 */
export async function importBusybox(p: DockerdPlan, tag = LAB_IMAGE, binary = BUSYBOX_BINARY): Promise<void> {
  const root = join(p.dir, 'rootfs');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(binary, join(root, 'bin', 'busybox'));
  const { stdout } = await run(binary, ['--list']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) symlinkSync('busybox', join(root, 'bin', applet));
  const tar = join(p.dir, 'rootfs.tar');
  await run('tar', ['-C', root, '-cf', tar, '.']);
  const [repo, version] = tag.split(':');
  const query = `fromSrc=-&repo=${encodeURIComponent(repo!)}&tag=${encodeURIComponent(version ?? 'latest')}&changes=${encodeURIComponent('ENV PATH=/bin')}`;
  try {
    const res = await api(p.socket, 'POST', `/images/create?${query}`, readFileSync(tar), 120_000);
    if (res.status !== 200 || res.body.includes('"errorDetail"')) throw new Error(res.body.slice(0, 300));
  } catch (err) {
    throw new TenetError('LAB_ERROR', `importing busybox into the dockerd on ${p.socket} failed: ${(err as Error).message}`, `see ${p.log}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(tar, { force: true });
  }
}

/** A bounded call of dockerd's API (the docker layer's client is above the lab). */
function api(socket: string, method: string, path: string, body: Buffer | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/x-tar', 'content-length': body.length } : {};
    const req = http.request({ socketPath: socket, method, path: `/v1.41${path}`, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
