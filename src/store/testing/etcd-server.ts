/**
 * Real etcd 3.4 members (Debian's /usr/bin/etcd) for tests and the lab: N members on
 * 127.0.0.1 with free ports, data under /tmp/tenet-etcd-*, each stopped by its PID and every
 * directory removed by stop() (and, should the test process die first, by an exit hook).
 * It lives in src/ (not test/) so that dist/ has it for `tenet lab` and the failure tests.
 *
 *   const etcd = await startEtcd({ members: 3 });   // etcd.storeUrl: etcd://127.0.0.1:p1,...
 *   await etcd.kill(0); await etcd.kill(1);          // quorum lost
 *   await etcd.restart(0);                           // quorum back (same data dir and ports)
 *   await etcd.stop();
 *
 * With `tls: true` clients must speak https and show a certificate signed by the cluster's
 * CA (etcd's --client-cert-auth); `etcd.tls` holds the client's files, `otherCa()` makes a CA
 * the cluster does not know, so a test can show that a wrong certificate is refused.
 * The members' flags and /health probe are the lab's too (src/base/etcd-member.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../base/async.js';
import { etcdArgv, etcdHealth, freePort } from '../../base/etcd-member.js';
import { makeCa, makeSignedCert, type CertFiles } from './etcd-certs.js';

export { ETCD_BINARY, freePort } from '../../base/etcd-member.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  /** PID of the running process; undefined while killed. */
  pid?: number;
}

export interface EtcdTlsFiles {
  caPath: string;
  certPath: string;
  keyPath: string;
}

export interface StartEtcdOptions {
  /** 1 (default) or more; a cluster of 3 survives one member down. */
  members?: number;
  tls?: boolean;
  /** etcd's own defaults (100 / 1000 ms): the minimum lease TTL is 1.5 election timeouts. */
  heartbeatMs?: number;
  electionMs?: number;
  /** How long to wait for the members to be healthy (default 30 s: a loaded CI machine). */
  readyTimeoutMs?: number;
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  /** Client URLs of every member. */
  readonly endpoints: string[];
  /** The controller's --store value: etcd://127.0.0.1:p1,127.0.0.1:p2,... */
  readonly storeUrl: string;
  /** The client's CA, certificate and key (tls only). */
  readonly tls?: EtcdTlsFiles;
  /** A CA (and a client certificate it signs) that the cluster does not trust. */
  otherCa(): EtcdTlsFiles;
  /** SIGKILL a member (by index) and wait until it is gone. */
  kill(member: number): Promise<void>;
  /** Start a killed member again with the same data dir and ports; waits until it is healthy. */
  restart(member: number, waitHealthy?: boolean): Promise<void>;
  /** Whether the member answers /health with true (it is up and sees a leader). */
  isHealthy(member: number): Promise<boolean>;
  /** Waits until the member answers /health with true (it has a leader). */
  waitHealthy(member: number, timeoutMs?: number): Promise<void>;
  /** Kills every member and removes every directory. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

/** Should the test process end without stop(), no etcd is left behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  installExitHook();
  const base = mkdtempSync('/tmp/tenet-etcd-');
  dirs.add(base);
  try {
    return await new Cluster(base, opts).start();
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    dirs.delete(base);
    throw err;
  }
}

class Cluster implements EtcdCluster {
  members: EtcdMember[] = [];
  tls?: EtcdTlsFiles;
  private serverCert?: CertFiles;
  private readonly children = new Map<number, ChildProcess>();

  constructor(private readonly base: string, private readonly opts: StartEtcdOptions) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  get storeUrl(): string {
    return `etcd://${this.members.map((m) => new URL(m.clientUrl).host).join(',')}`;
  }

  async start(): Promise<this> {
    const scheme = this.opts.tls ? 'https' : 'http';
    if (this.opts.tls) this.makeTls();
    const count = this.opts.members ?? 1;
    for (let i = 0; i < count; i++) {
      const [client, peer] = [await freePort(), await freePort()];
      const name = `m${i}`;
      this.members.push({ name, clientUrl: `${scheme}://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, dataDir: join(this.base, `${name}.data`), logPath: join(this.base, `${name}.log`) });
    }
    this.members.forEach((_, i) => this.spawnMember(i));
    await Promise.all(this.members.map((_, i) => this.waitHealthy(i, this.opts.readyTimeoutMs)));
    return this;
  }

  otherCa(): EtcdTlsFiles {
    const dir = mkdtempSync(join(this.base, 'other-ca-'));
    const ca = makeCa(dir, 'not-the-etcd-ca');
    const client = makeSignedCert(dir, ca, 'client', 'tenet-client');
    return { caPath: ca.certPath, certPath: client.certPath, keyPath: client.keyPath };
  }

  async kill(member: number): Promise<void> {
    const child = this.children.get(member);
    if (!child) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  async restart(member: number, waitHealthy = true): Promise<void> {
    await this.kill(member);
    this.spawnMember(member);
    if (waitHealthy) await this.waitHealthy(member, this.opts.readyTimeoutMs);
  }

  isHealthy(member: number): Promise<boolean> {
    return this.healthy(this.members[member]!);
  }

  async waitHealthy(member: number, timeoutMs = 30_000): Promise<void> {
    const m = this.members[member]!;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.children.has(member)) throw new Error(`etcd ${m.name} exited: ${logTail(m.logPath)}`);
      if (await this.healthy(m)) return;
      await sleep(50);
    }
    throw new Error(`etcd ${m.name} was not healthy within ${timeoutMs} ms: ${logTail(m.logPath)}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    rmSync(this.base, { recursive: true, force: true });
    dirs.delete(this.base);
  }

  private spawnMember(i: number): void {
    const m = this.members[i]!;
    const tls = this.serverCert && this.tls ? { certPath: this.serverCert.certPath, keyPath: this.serverCert.keyPath, caPath: this.tls.caPath } : undefined;
    const [binary, ...args] = etcdArgv(m, { cluster: this.members, token: `tenet-test-${process.pid}`, heartbeatMs: this.opts.heartbeatMs, electionMs: this.opts.electionMs, tls });
    mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
    const log = openSync(m.logPath, 'a');
    const child = spawn(binary!, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    live.add(child);
    this.children.set(i, child);
    m.pid = child.pid;
    child.once('exit', () => {
      live.delete(child);
      if (this.children.get(i) === child) {
        this.children.delete(i);
        m.pid = undefined;
      }
    });
  }

  private makeTls(): void {
    const dir = join(this.base, 'tls');
    mkdirSync(dir, { mode: 0o700 });
    const ca = makeCa(dir, 'tenet-test-etcd-ca');
    this.serverCert = makeSignedCert(dir, ca, 'server', 'localhost', ['IP:127.0.0.1', 'DNS:localhost']);
    const client = makeSignedCert(dir, ca, 'client', 'tenet-controller');
    this.tls = { caPath: ca.certPath, certPath: client.certPath, keyPath: client.keyPath };
  }

  private async healthy(m: EtcdMember): Promise<boolean> {
    const tls = this.tls;
    const pem = tls ? { ca: readFileSync(tls.caPath), cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } : undefined;
    return (await etcdHealth(m.clientUrl, 1000, pem)) === 'healthy';
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ') || '(empty log)';
  } catch {
    return '(no log)';
  }
}
