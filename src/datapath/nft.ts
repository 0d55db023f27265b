/**
 * The nftables ruleset of a tenant namespace. It is generated whole, and its hash is kept in
 * the table's comment, so the reconciler knows from one `nft list` whether it is current;
 * when it is not, it is replaced in ONE `nft -f` transaction (add, delete, re-add), which the
 * kernel applies atomically: no packet sees a half-loaded or empty ruleset.
 *
 * br_netfilter is switched off in tenant namespaces (datapath.ts), so these hooks see routed
 * traffic only: traffic between two networks, and traffic to the gateway itself. Bridged
 * traffic inside one network never pays for them.
 *
 * Isolation: forwarding between networks is dropped until a policy (a later issue) allows it;
 * a workload may talk to the gateway of its own network only.
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

export function rulesetHash(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** A script for `nft -f -` that replaces Tenet's table atomically. */
export function rulesetScript(plan: TenantPlan): { hash: string; script: string } {
  const body = rulesetBody(plan);
  const hash = rulesetHash(body);
  const script = [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    `  comment "tenet:${hash}"`,
    body,
    `}`,
    '',
  ].join('\n');
  return { hash, script };
}
