/**
 * The nftables rulesets of a tenant namespace. They are generated whole, and their hash is
 * kept in the comment of the `inet` table, so the reconciler knows from one `nft list`
 * whether they are current; when not, both tables are replaced in ONE `nft -f` transaction
 * (add, delete, re-add), which the kernel applies atomically: no packet sees a half-loaded
 * or empty ruleset.
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
import type { TenantPlan } from './plan.js';
import { NFT_TABLE } from './names.js';

export function rulesetBody(plan: TenantPlan): string {
  const bridges = plan.networks.map((n) => `"${n.bridge}"`).join(', ');
  const ours = bridges ? `iifname { ${bridges} } ` : '';
  return [
    `  chain forward {`,
    `    type filter hook forward priority filter; policy drop;`,
    `    ct state established,related accept`,
    `  }`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    ${ours}fib daddr . iif type != local drop`,
    `  }`,
  ].join('\n');
}

export function pinningBody(plan: TenantPlan): string {
  const byAddress = [...plan.ports].sort((a, b) => a.ipCidr.localeCompare(b.ipCidr) || a.port.localeCompare(b.port));
  const elements = byAddress.map((p) => `"${p.port}" . ${p.mac} . ${p.ipCidr.split('/')[0]}`);
  return [
    `  set ports {`,
    `    type ifname . ether_addr . ipv4_addr`,
    ...(elements.length ? [`    elements = { ${elements.join(', ')} }`] : []),
    `  }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority filter; policy accept;`,
    `    iifname "tnvx*" accept`,
    `    iifname != "tnv*" accept`,
    `    ether type ip iifname . ether saddr . ip saddr @ports accept`,
    `    ether type arp iifname . ether saddr . arp saddr ip @ports iifname . arp saddr ether . arp saddr ip @ports accept`,
    `    drop`,
    `  }`,
  ].join('\n');
}

export function rulesetHash(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** A script for `nft -f -` that replaces Tenet's two tables atomically. */
export function rulesetScript(plan: TenantPlan): { hash: string; script: string } {
  const inet = rulesetBody(plan);
  const bridge = pinningBody(plan);
  const hash = rulesetHash(`${inet}\n${bridge}`);
  const script = [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    `  comment "tenet:${hash}"`,
    inet,
    `}`,
    `table bridge ${NFT_TABLE} {}`,
    `delete table bridge ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE} {`,
    bridge,
    `}`,
    '',
  ].join('\n');
  return { hash, script };
}
