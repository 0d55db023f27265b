/**
 * Test support: seeded random tenants, rule sets and flows, dense in the cases that go wrong:
 * overlapping ports and prefixes, equal priorities with mixed actions, groups, endpoints by
 * id, addresses of no endpoint and outside every network.
 */
import type { Flow } from '../check.js';
import type { CompileInput } from '../compile.js';
import { ep, net, policy } from './objects.js';
import { rng } from '../../base/random.js';

export { rng };

export type Rand = ReturnType<typeof rng>;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const PORTS = ['22', '80', '443', '5432', '80,443', '8000-8080', '80-90', '85-100', '1-1024', '53'];
const LABELS = ['tier=web', 'tier=db', 'tier=app', 'role=x'];
const OUTSIDE = ['192.168.77.7', '172.16.5.9'];

export function randomTenant(r: Rand): CompileInput {
  const nets = ['red', 'green', 'blue', 'gold'].slice(0, int(r, 2, 4)).map((name, i) => net(name, `10.${i + 1}.0.0/24`));
  const endpoints = Array.from({ length: int(r, 3, 8) }, (_, i) => {
    const n = pick(r, nets);
    const labels = Object.fromEntries(LABELS.filter(() => r() < 0.3).map((l) => l.split('=') as [string, string]).slice(0, 1));
    return ep(`e${i}`, n, `${n.subnet.split('.').slice(0, 3).join('.')}.${10 + i}`, labels);
  });
  const ruleText = () => randomRule(r, nets, endpoints);
  const policies = Array.from({ length: int(r, 1, 4) }, (_, i) => policy(`p${i}`, Array.from({ length: int(r, 1, 8) }, ruleText)));
  for (const n of nets) n.policies = policies.filter(() => r() < 0.4).map((p) => p.name);
  return { networks: nets, endpoints, policies };
}

/** One random rule over the tenant's networks and endpoints: the shapes that go wrong, densely. */
export function randomRule(r: Rand, nets: { name: string; subnet: string }[], endpoints: { id: string }[]): string {
  const selector = (): string => {
    const n = pick(r, nets);
    const x = r();
    if (x < 0.2) return 'any';
    if (x < 0.45) return `net:${n.name}`;
    if (x < 0.65) return `group:${pick(r, LABELS)}`;
    const base = n.subnet.split('.').slice(0, 3).join('.');
    if (x < 0.85) return `cidr:${pick(r, [`${base}.0/25`, `${base}.128/25`, '10.0.0.0/8', '192.168.77.0/24', n.subnet])}`;
    return `ep:${pick(r, endpoints).id}`;
  };
  const proto = pick(r, ['any', 'tcp', 'udp', 'icmp'] as const);
  const ports = (proto === 'tcp' || proto === 'udp') && r() < 0.6 ? ` port ${pick(r, PORTS)}` : '';
  const priority = r() < 0.5 ? ` priority ${pick(r, [5, 10, 100])}` : '';
  return `${pick(r, ['allow', 'allow', 'deny', 'reject'])} ${proto === 'any' && r() < 0.5 ? '' : `${proto} `}from ${selector()} to ${selector()}${ports}${priority}${r() < 0.1 ? ' log' : ''}`;
}

export function randomFlow(r: Rand, t: CompileInput): Flow {
  const addr = (): string => {
    const x = r();
    if (x < 0.7 && t.endpoints.length) return pick(r, t.endpoints).ip;
    if (x < 0.85) return `${pick(r, t.networks).subnet.split('.').slice(0, 3).join('.')}.${int(r, 130, 200)}`;
    return pick(r, OUTSIDE);
  };
  const proto = pick(r, ['tcp', 'udp', 'icmp'] as const);
  const src = addr();
  let dst = addr();
  while (dst === src) dst = addr();
  return proto === 'icmp' ? { src, dst, proto } : { src, dst, proto, port: pick(r, [22, 53, 80, 85, 95, 443, 5432, 8000, 8080, 9000, 1024]) };
}
