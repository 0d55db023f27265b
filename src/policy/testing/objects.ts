/**
 * Test support: tenants, endpoints and policies in a few words. `rule()` reads the rule
 * language well enough for fixtures (well-formed text only; the real parser, with its error
 * messages, lives with the API).
 */
import { DEFAULT_PRIORITY, type Policy, type PolicyAction, type PolicyProto, type PolicyRule, type Selector } from '../../model/policy.js';
import type { Endpoint } from '../../model/types.js';
import type { NetworkWithPolicies } from '../types.js';

const T0 = '2024-01-01T00:00:00.000Z';

export function net(name: string, subnet: string, policies: string[] = []): NetworkWithPolicies {
  const gateway = subnet.replace(/\.0\/\d+$/, '.1');
  return { id: `id-${name}`, tenant: 't', name, subnet, gateway, mtu: 0, vni: 1000, createdAt: T0, policies };
}

export function ep(id: string, network: NetworkWithPolicies, ip: string, labels: Record<string, string> = {}): Endpoint {
  return { id, tenant: 't', network: network.name, networkId: network.id, labels, mac: '02:00:00:00:00:01', ip, prefixLen: 24, gateway: network.gateway, status: 'up', createdAt: T0, updatedAt: T0 };
}

export function policy(name: string, rules: (string | PolicyRule)[]): Policy {
  return { id: `id-${name}`, tenant: 't', name, rules: rules.map((r) => (typeof r === 'string' ? rule(r) : r)), rates: [], createdAt: T0, updatedAt: T0 };
}

export function selector(text: string): Selector {
  if (text === 'any') return { kind: 'any' };
  const [kind, rest] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
  if (kind === 'net') return { kind, name: rest };
  if (kind === 'cidr') return { kind, cidr: rest };
  if (kind === 'ep') return { kind, id: rest };
  const [key, value] = rest.split('=');
  return { kind: 'group', key: key!, value: value! };
}

export function rule(text: string): PolicyRule {
  const w = text.split(/\s+/);
  const action = w.shift() as PolicyAction;
  const proto = (w[0] === 'from' ? 'any' : w.shift()) as PolicyProto;
  const at = (word: string) => w.indexOf(word);
  const ports = at('port') >= 0 ? w[at('port') + 1]!.split(',').map((p) => {
    const [a, b] = p.split('-').map(Number);
    return { from: a!, to: b ?? a! };
  }) : [];
  return {
    text,
    action,
    proto,
    from: selector(w[at('from') + 1]!),
    to: selector(w[at('to') + 1]!),
    ports,
    priority: at('priority') >= 0 ? Number(w[at('priority') + 1]) : DEFAULT_PRIORITY,
    log: at('log') >= 0,
  };
}
