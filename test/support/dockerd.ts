/**
 * Test support: a real dockerd of the test's own, the one private daemon the lab layer
 * starts (src/lab/private-dockerd.ts), plus what tests want on top: the Docker API client,
 * a container's PID, and docker.io installed when missing (the tests install it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DockerEngine } from '../../src/docker/engine.js';
import { PRIVATE_BUSYBOX_IMAGE, PrivateDockerd } from '../../src/lab/private-dockerd.js';

export type { CliOutput } from '../../src/lab/private-dockerd.js';
const run = promisify(execFile);
export const BUSYBOX_IMAGE = PRIVATE_BUSYBOX_IMAGE;

export class TestDockerd extends PrivateDockerd {
  readonly engine = new DockerEngine(this.socket);

  /** The PID of a container's init process. */
  async pid(container: string): Promise<number> {
    return (await this.engine.inspect(container)).State.Pid;
  }
}

/** docker.io and busybox-static, installed with apt when missing. */
export async function ensureDockerInstalled(): Promise<void> {
  if (existsSync('/usr/sbin/dockerd') && existsSync('/bin/busybox')) return;
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io', 'busybox-static'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
}
