/**
 * Test support: the Docker driver on an agent joined over https, as on a multi-host
 * setup (ADR 006, ADR 014 addendum): a `tenet controller` serving https on loopback, and a
 * `tenet agent --docker` that joins it with a join token and then speaks to it with its host
 * credential only. The CLI stays admin over the controller's unix socket. Everything else
 * (dockerd, namespaces, directory, teardown) is TenetUp's.
 */
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnUntil, stopChild, TenetUp } from './tenet-up.js';

export class JoinedTenetUp extends TenetUp {
  controller?: ChildProcess;
  url = '';

  override async start(): Promise<void> {
    const d = this.dir;
    const ctl = await spawnUntil(['controller', '--data-dir', join(d, 'tenet-data'), '--listen', '127.0.0.1:0', '--socket', join(d, 'ctl.sock')], /"https":"(https:\/\/127\.0\.0\.1:\d+)"/);
    this.controller = ctl.child;
    this.url = ctl.match[1]!;
    const token = await this.tenet('token', 'create', '--agent', '--ttl', '10m');
    if (token.code !== 0) throw new Error(`token create: ${token.stderr}`);
    const agent = ['agent', '--controller', this.url, '--join-token', token.stdout.trim(), '--listen', join(d, 'agent.sock'), ...this.agentArgs()];
    this.child = (await spawnUntil(agent, /agent serving on its socket/)).child;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await stopChild(this.controller);
  }
}
