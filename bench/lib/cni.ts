/**
 * The baseline of the attach benchmark: the reference CNI `bridge` plugin with host-local
 * IPAM, invoked directly as a runtime would (research/baseline.md section 3): spec 1.0.0,
 * CNI_* in the environment, the config on stdin, and the plugin's own network namespace set
 * to a private "host" namespace with `nsenter --net`. host-local keeps its allocations in a
 * temporary dataDir, so nothing outside the benchmark's namespaces and temp dir changes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { addNamespaces, inNs, NO_BRNF, sh, shMaybe } from './kernel.js';

export const CNI_DIR = '/usr/lib/cni';
const PLUGIN_TIMEOUT_MS = 30_000;

/** Installs Debian's containernetworking-plugins when the two plugins used are missing. */
export async function ensureCniPlugins(): Promise<void> {
  const present = () => existsSync(`${CNI_DIR}/bridge`) && existsSync(`${CNI_DIR}/host-local`);
  if (present()) return;
  console.log('installing containernetworking-plugins (the CNI reference plugins, the baseline)');
  const install = () => shMaybe(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', 'containernetworking-plugins']);
  if ((await install()).code !== 0) {
    await sh(['apt-get', 'update', '-qq']); // a fresh machine has no package lists yet
    await install();
  }
  if (!present()) throw new Error(`no ${CNI_DIR}/bridge after installing containernetworking-plugins; install it by hand`);
}

export class CniBridge {
  readonly hostNs: string;
  private readonly conf: string;

  constructor(readonly prefix: string, tmpDir: string, subnet: string) {
    this.hostNs = `${prefix}-cnihost`;
    this.conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: `${prefix}-net`,
      type: 'bridge',
      bridge: `cni-${prefix}`,
      isGateway: true,
      ipMasq: false,
      hairpinMode: false,
      ipam: { type: 'host-local', dataDir: join(tmpDir, 'cni-ipam'), ranges: [[{ subnet }]] },
    });
  }

  /** The private "host" namespace the plugin runs in, br_netfilter off as in Tenet's. */
  async createHost(): Promise<void> {
    await addNamespaces([this.hostNs]);
    await sh(inNs(this.hostNs, ['sysctl', '-q', '-w', ...NO_BRNF]));
  }

  /** ADD; resolves to the address the plugin gave the namespace (without prefix length) and its gateway. */
  async add(id: string, ns: string): Promise<{ ip: string; gateway: string }> {
    const out = await this.exec('ADD', id, ns);
    const result = JSON.parse(out) as { ips?: { address: string; gateway?: string }[] };
    const first = result.ips?.[0];
    if (!first?.address) throw new Error(`CNI ADD ${id} returned no address: ${out.trim()}`);
    return { ip: first.address.split('/')[0]!, gateway: first.gateway ?? '' };
  }

  async del(id: string, ns: string): Promise<void> {
    await this.exec('DEL', id, ns);
  }

  private exec(command: 'ADD' | 'DEL', id: string, ns: string): Promise<string> {
    const env = { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: CNI_DIR };
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', [`--net=/run/netns/${this.hostNs}`, `${CNI_DIR}/bridge`], { env, timeout: PLUGIN_TIMEOUT_MS });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`CNI ${command} ${id} failed (exit ${code}): ${(stdout + stderr).trim()}`))));
      child.stdin.end(this.conf);
    });
  }
}
