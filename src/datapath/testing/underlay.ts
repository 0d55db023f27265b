/**
 * Test support: a throwaway underlay of simulated hosts (network namespaces on one bridge),
 * with workload namespaces to attach. Everything is named `${prefix}-…` and `destroy()`
 * removes every namespace with the prefix, so a failed test leaves nothing behind.
 * Traffic only ever flows inside these namespaces.
 */
import { randomBytes } from 'node:crypto';
import { ExecRunner } from '../runner.js';
import { listNamespaces } from '../observe.js';

export class TestUnderlay {
  readonly runner = new ExecRunner();
  readonly hosts = new Map<string, { ns: string; vtep: string }>();

  constructor(readonly prefix = `td${randomBytes(2).toString('hex')}`) {}

  async create(hostNames: string[]): Promise<void> {
    const ul = `${this.prefix}-ul`;
    await this.ip(['netns', 'add', ul]);
    await this.batch(ul, ['link set lo up', 'link add ul0 type bridge', 'link set ul0 up']);
    for (const [i, name] of hostNames.entries()) {
      const ns = `${this.prefix}-${name}`;
      const vtep = `10.98.0.${i + 2}`;
      await this.ip(['netns', 'add', ns]);
      await this.batch(ul, [`link add ul-${name} type veth peer name eth0 netns ${ns}`, `link set ul-${name} master ul0 up`]);
      await this.batch(ns, ['link set lo up', 'link set eth0 mtu 1500 up', `addr add ${vtep}/24 dev eth0`]);
      this.hosts.set(name, { ns, vtep });
    }
  }

  /** A workload namespace; returns its path. */
  async workload(name: string): Promise<string> {
    const ns = `${this.prefix}-w-${name}`;
    await this.ip(['netns', 'add', ns]);
    await this.batch(ns, ['link set lo up']);
    return `/run/netns/${ns}`;
  }

  workloadNs(name: string): string {
    return `${this.prefix}-w-${name}`;
  }

  /** True when one ping from the workload to `ip` gets an answer. */
  async ping(from: string, ip: string): Promise<boolean> {
    const r = await this.runner.run(['ip', 'netns', 'exec', this.workloadNs(from), 'ping', '-c', '1', '-W', '1', ip], { allowFail: true });
    return r.code === 0;
  }

  async exec(ns: string, argv: string[]): Promise<string> {
    return (await this.runner.run(['ip', 'netns', 'exec', ns, ...argv])).stdout;
  }

  async destroy(): Promise<void> {
    for (const ns of (await listNamespaces()).filter((n) => n.startsWith(`${this.prefix}-`))) {
      await this.runner.run(['ip', 'netns', 'del', ns], { allowFail: true });
    }
  }

  private ip(args: string[]) {
    return this.runner.run(['ip', ...args]);
  }

  private batch(ns: string, commands: string[]) {
    return this.runner.run(['ip', '-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n' });
  }
}
