/**
 * The nftables rulesets of a tenant namespace. They are generated whole, and their hash is
 * kept in a rule comment, so the reconciler knows from one `nft -j list ruleset` whether
 * they are current; when not, both tables are replaced in ONE `nft -f` transaction (add,
 * delete, re-add), which the kernel applies atomically: no packet sees a half-loaded or
 * empty ruleset. The pinning set's elements are compared one by one and updated in place.
 *
 * `inet tenet`: br_netfilter is off in tenant namespaces (datapath.ts), so its hooks see
 * routed traffic only: traffic between two networks, and traffic to the gateway itself.
 * Forwarding between networks is dropped until a policy (a later issue) allows it; a
 * workload may talk to the gateway of its own network only.
 *
 * `bridge tenet`: port pinning. A frame from a workload's port must carry that endpoint's
 * MAC, and its IPv4 or ARP sender address must be the endpoint's: no spoofing of another
 * endpoint, no ARP poisoning of the gateway. One set lookup per frame (constant cost as
 * ports grow, research/baseline.md §2); frames from the VXLAN device were pinned on their
 * own host.
 */
import { createHash } from 'node:crypto';
import { subnetOf, subnetText, type TenantPlan } from './plan.js';
import { NFT_TABLE, POLICY_MARK } from './names.js';

/**
 * `hash` goes into the first rule's comment, where `nft -j` shows it. Without a policy the
 * forward chain sees routed traffic only. With one (plan.policy, compiled by src/policy/)
 * br_netfilter is on, so bridged traffic passes it too, its in and out interface both being
 * its network's bridge: the policy's rules come right after the conntrack rule (replies and
 * established flows never meet them), and what none of them decides is allowed inside one
 * network (source and destination in its subnet) and dropped between networks (the chain's
 * policy).
 */
export function rulesetBody(plan: TenantPlan, hash = ''): string {
  const bridges = plan.networks.map((n) => `"${n.bridge}"`).join(', ');
  const ours = bridges ? `iifname { ${bridges} } ` : '';
  const policy = plan.policy;
  // By addresses, not bridge ports: a flow routed on another host arrives here bridged (docs/adr/013).
  const subnets = plan.networks.flatMap((n) => subnetOf(n) ?? []).map(subnetText);
  const sameNet = subnets.map((c) => `${c} . ${c}`).join(', ');
  return [
    ...(policy ? [indent(policy.sets, 1), indent(policy.chains, 1)].filter((x) => x) : []),
    `  chain forward {`,
    `    type filter hook forward priority filter; policy drop;`,
    `    ct state established,related accept${hash ? ` comment "tenet:${hash}${policy ? ` ${POLICY_MARK}` : ''}"` : ''}`,
    // Published ports (ADR 015): only Tenet's own tenet-ports table DNATs here, from the host's transit pair.
    `    ct status dnat accept`,
    ...(policy ? [indent(policy.forwardRules, 2)].filter((x) => x) : []),
    ...(policy && sameNet ? [`    ip saddr . ip daddr { ${sameNet} } accept`] : []),
    `  }`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    ${ours}fib daddr . iif type != local drop`,
    `  }`,
  ].join('\n');
}

/** Re-indents a fragment's non-empty lines, so the table reads as one text. */
function indent(text: string, level: number): string {
  const pad = '  '.repeat(level);
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l)
    .map((l) => pad + l)
    .join('\n');
}

/** The pinning set's elements, canonical: what `nft -j` lists, in the same spelling. */
export function pinElements(plan: TenantPlan): string[] {
  return plan.ports.map((p) => `"${p.port}" . ${p.mac} . ${p.ipCidr.split('/')[0]}`).sort();
}

export function pinningBody(elements: string[]): string {
  return [
    `  set ports {`,
    `    type ifname . ether_addr . ipv4_addr`,
    ...(elements.length ? [`    elements = { ${elements.join(', ')} }`] : []),
    `  }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority filter; policy accept;`,
    // Lookups first: most frames are a port's own traffic and leave at the first rule. Putting
    // two wildcard iifname rules first cost 20 % of throughput (docs/adr/002).
    `    ether type ip iifname . ether saddr . ip saddr @ports accept`,
    `    ether type arp iifname . ether saddr . arp saddr ip @ports iifname . arp saddr ether . arp saddr ip @ports accept`,
    `    iifname "tnv*" iifname != "tnvx*" drop`,
    `  }`,
  ].join('\n');
}

export function rulesetHash(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/**
 * A script for `nft -f -` that replaces Tenet's two tables atomically. The hash covers the
 * rules, not the pinning set's elements: those change with every attach and are updated in
 * place (elementsScript), because deleting and re-adding a table with base chains waits for
 * the kernel's RCU grace periods (about 20 ms here, research/baseline.md §2).
 */
export function rulesetScript(plan: TenantPlan): { hash: string; script: string } {
  const hash = rulesetHash(`${rulesetBody(plan)}\n${pinningBody([])}`);
  const script = [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    rulesetBody(plan, hash),
    `}`,
    `table bridge ${NFT_TABLE} {}`,
    `delete table bridge ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE} {`,
    pinningBody(pinElements(plan)),
    `}`,
    '',
  ].join('\n');
  return { hash, script };
}

/** Adds and deletes pinning elements in place; undefined when the set is already right. */
export function elementsScript(want: string[], have: string[]): string | undefined {
  const has = new Set(have);
  const wanted = new Set(want);
  const add = want.filter((e) => !has.has(e));
  const del = have.filter((e) => !wanted.has(e));
  const lines = [
    ...(del.length ? [`delete element bridge ${NFT_TABLE} ports { ${del.join(', ')} }`] : []),
    ...(add.length ? [`add element bridge ${NFT_TABLE} ports { ${add.join(', ')} }`] : []),
  ];
  return lines.length ? `${lines.join('\n')}\n` : undefined;
}
