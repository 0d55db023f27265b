/**
 * How Tenet launches a real etcd member (Debian's etcd 3.4, never its system service): the
 * flags and the /health probe. One copy for the two launchers, which may not import each
 * other's layer: the lab's detached members (src/lab/etcd.ts) and the members tests and
 * benchmarks start and stop (src/store/testing/etcd-server.ts). It is here, in the lowest
 * layer, because both the lab and the store may import it (test/arch/layers.test.ts).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

export const ETCD_BINARY = '/usr/bin/etcd';

/** One member of a static cluster. */
export interface EtcdMemberSpec {
  name: string;
  /** http(s)://127.0.0.1:PORT: where clients reach it. */
  clientUrl: string;
  /** http://127.0.0.1:PORT: where the other members reach it. */
  peerUrl: string;
  dataDir: string;
}

export interface EtcdArgvOptions {
  /** Every member of the cluster, this one included (--initial-cluster). */
  cluster: EtcdMemberSpec[];
  /** Names this cluster, so a member never joins another's by mistake. */
  token: string;
  /** etcd's own defaults when absent (100 / 1000 ms): the minimum lease TTL is 1.5 election timeouts. */
  heartbeatMs?: number;
  electionMs?: number;
  /** Server certificate and the CA whose client certificates it demands (--client-cert-auth). */
  tls?: { certPath: string; keyPath: string; caPath: string };
}

/** The command line of a member, binary first. */
export function etcdArgv(m: EtcdMemberSpec, o: EtcdArgvOptions): string[] {
  const timing = o.heartbeatMs === undefined && o.electionMs === undefined ? [] : ['--heartbeat-interval', String(o.heartbeatMs ?? 100), '--election-timeout', String(o.electionMs ?? 1000)];
  const tls = o.tls ? ['--cert-file', o.tls.certPath, '--key-file', o.tls.keyPath, '--trusted-ca-file', o.tls.caPath, '--client-cert-auth'] : [];
  return [
    ETCD_BINARY,
    ...['--name', m.name, '--data-dir', m.dataDir],
    ...['--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl],
    ...['--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl],
    // "new" is ignored once the data dir holds a member: a restart rejoins with its data.
    ...['--initial-cluster', o.cluster.map((x) => `${x.name}=${x.peerUrl}`).join(','), '--initial-cluster-state', 'new', '--initial-cluster-token', o.token],
    ...timing,
    ...['--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn'],
    ...tls,
  ];
}

/** A loopback port nobody listens on now (the kernel picks it); the member binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** PEM contents for an https /health probe of a member that demands client certificates. */
export interface EtcdProbeTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** What the member's /health says: 'healthy' (it has a leader), 'up' (answers, no quorum), or 'down'. */
export function etcdHealth(clientUrl: string, timeoutMs = 1000, tls?: EtcdProbeTls): Promise<'healthy' | 'up' | 'down'> {
  const url = new URL('/health', clientUrl);
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, ...tls }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve(/"health":\s*"true"/.test(body) ? 'healthy' : 'up'));
      res.on('error', () => resolve('down'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('down'));
    req.end();
  });
}
