/**
 * The nftables rulesets of a tenant namespace. They are generated whole, and their hash is
 * kept in a rule comment, so the reconciler knows from one `nft -j list ruleset` whether
 * they are current; when not, ONE `nft -f` transaction brings them to the plan, which the
 * kernel applies atomically: no packet sees a half-loaded or empty ruleset. On tables of the
 * structure this code writes that is an in-place update (base chains emptied and refilled, the
 * policy's objects replaced: no hook re-registered, docs/adr/013); otherwise both tables are
 * replaced (add, delete, re-add). The pinning set's elements are compared one by one and
 * updated in place.
 *
 * `inet tenet`: br_netfilter is off in tenant namespaces except on the bridges of networks a
 * policy's rules act on (docs/adr/013), so its hooks see routed traffic, traffic to the gateway
 * itself and the bridged traffic of those networks only. Forwarding between networks is
 * dropped until a policy allows it; a workload may talk to the gateway of its own network only.
 *
 * `bridge tenet`: port pinning. A frame from a workload's port must carry that endpoint's
 * MAC, and its IPv4 or ARP sender address must be the endpoint's: no spoofing of another
 * endpoint, no ARP poisoning of the gateway. One set lookup per frame (constant cost as
 * ports grow, research/baseline.md §2); frames from the VXLAN device were pinned on their
 * own host. The one exception to "the endpoint's address": a DHCP client's DISCOVER/REQUEST,
 * from 0.0.0.0 udp 68 to 255.255.255.255:67, still with the port's own MAC (ADR 020); an ARP
 * probe (sender 0.0.0.0, RFC 5227) from the port's MAC passes too and updates no cache.
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
export function rulesetBody(plan: TenantPlan, hash = '', base = ''): string {
  const policy = plan.policy;
  return [
    ...(policy ? [indent(policy.sets, 1), indent(policy.chains, 1)].filter((x) => x) : []),
    `  chain forward {`,
    `    ${FORWARD_HOOK}`,
    ...forwardRules(plan, hash).map((r) => `    ${r}`),
    `  }`,
    `  chain input {`,
    `    ${INPUT_HOOK}`,
    ...inputRules(plan, base).map((r) => `    ${r}`),
    `  }`,
  ].join('\n');
}

const FORWARD_HOOK = 'type filter hook forward priority filter; policy drop;';
const INPUT_HOOK = 'type filter hook input priority filter; policy accept;';

/** The forward chain's rules, one per line, in order. */
function forwardRules(plan: TenantPlan, hash: string): string[] {
  const policy = plan.policy;
  // By addresses, not bridge ports: a flow routed on another host arrives here bridged (docs/adr/013).
  const subnets = plan.networks.flatMap((n) => subnetOf(n) ?? []).map(subnetText);
  const sameNet = subnets.map((c) => `${c} . ${c}`).join(', ');
  return [
    `ct state established,related accept${hash ? ` comment "tenet:${hash}${policy ? ` ${POLICY_MARK}` : ''}"` : ''}`,
    // Published ports (ADR 015): only Tenet's own tenet-ports table DNATs here, from the host's transit pair.
    `ct status dnat accept`,
    ...(policy ? indent(policy.forwardRules, 0).split('\n').filter((x) => x) : []),
    ...(policy && sameNet ? [`ip saddr . ip daddr { ${sameNet} } accept`] : []),
  ];
}

/**
 * The input chain's rule. Its comment records the structure of both tables (baseHash): what
 * an in-place update leaves alone must be what this code would write.
 */
function inputRules(plan: TenantPlan, base = ''): string[] {
  const bridges = plan.networks.map((n) => `"${n.bridge}"`).join(', ');
  const ours = bridges ? `iifname { ${bridges} } ` : '';
  // A DHCP client with no address yet broadcasts (ADR 020); the bridge table pinned it already.
  const dhcp = bridges ? [`iifname { ${bridges} } ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept`] : [];
  return [...dhcp, ...dnsFloodRule(plan, bridges), `${ours}fib daddr . iif type != local drop${base ? ` comment "${BASE_TAG}${base}"` : ''}`];
}

/**
 * DNS to the gateways, per source, in the kernel (ADR 019): a UDP flood would otherwise fill
 * the DNS socket's receive buffer before the agent's own limit (200/s, burst 400,
 * src/dns/limits.ts) sees it, and the other workloads' queries would be lost with it. Twice
 * that limit, so only a flood meets it; the counter shows what it dropped. A meter, not a
 * table-level set: nft keeps it out of the listing's sets, so the in-place update (which
 * deletes the listed sets it does not plan) leaves it alone, and re-adding the rule reuses it.
 */
function dnsFloodRule(plan: TenantPlan, bridges: string): string[] {
  const gateways = plan.networks.map((n) => n.gatewayCidr.split('/')[0]).sort();
  if (!bridges || !gateways.length) return [];
  const limit = `ip saddr timeout ${DNS_FLOOD.timeoutSeconds}s limit rate over ${DNS_FLOOD.perSecond}/second burst ${DNS_FLOOD.burst} packets`;
  return [`iifname { ${bridges} } ip daddr { ${[...new Set(gateways)].join(', ')} } udp dport 53 meter ${DNS_FLOOD.meter} size ${DNS_FLOOD.sources} { ${limit} } counter drop`];
}

/** The kernel's per-source DNS limit; exported for the kernel test and the docs' numbers. */
export const DNS_FLOOD = { meter: 'dns-flood', perSecond: 400, burst: 800, sources: 65535, timeoutSeconds: 10 } as const;

/**
 * The kernel's per-port limit on DHCP from unconfigured clients (ADR 024); the agent keeps a
 * total per tenant. Its drops go to a named counter of the bridge table, which the agent reads
 * with one `nft -j list counters` per namespace on a slow timer (src/agent/dhcp-flood.ts).
 */
export const DHCP_FLOOD = { meter: 'dhcp-flood', counter: 'dhcp-flood', perSecond: 5, burst: 10, ports: 65535, timeoutSeconds: 10 } as const;

const BASE_TAG = 'tenet-base:';

/**
 * The hash of what an in-place update does not rewrite: the tables, the base chains' hooks,
 * the bridge table's set and rules. Equal in the kernel and in the plan: the policy and the
 * chains' rules can be updated in place (inPlaceScript); otherwise both tables are replaced.
 */
export function baseHash(): string {
  return rulesetHash(`${FORWARD_HOOK}\n${INPUT_HOOK}\n${pinningBody([])}\nin-place v1`);
}

/** `set NAME`, `map NAME`, `chain NAME`: the policy's objects at table level, from its text. */
export function policyObjects(plan: TenantPlan): string[] {
  return [...policyBlocks(plan).keys()];
}

/**
 * What the kernel holds of `inet tenet`, for an in-place update: its structure, its policy's
 * objects and, when the datapath loaded them itself (the fast path's known state), their text:
 * then only the objects whose text changed are rewritten (docs/adr/026).
 */
export interface LoadedRules {
  base?: string;
  objects?: string[];
  texts?: ReadonlyMap<string, string>;
}

/** What a table this code loaded from `plan` holds (the fast path's known state). */
export function knownRules(plan: TenantPlan): { nftBase: string; nftObjects: string[]; nftTexts: ReadonlyMap<string, string> } {
  const texts = policyBlocks(plan);
  return { nftBase: baseHash(), nftObjects: [...texts.keys()], nftTexts: texts };
}

/**
 * The policy's table-level objects, `set NAME` / `map NAME` / `chain NAME` → their block as
 * this code declares it (re-indented). Kept per plan: the next plan's blocks are compared
 * with these, not re-read from the kernel.
 */
export function policyBlocks(plan: TenantPlan): ReadonlyMap<string, string> {
  const known = blocksOf.get(plan);
  if (known) return known;
  const out = new Map<string, string>();
  if (plan.policy) {
    let key: string | undefined;
    let lines: string[] = [];
    for (const line of indent(`${plan.policy.sets}\n${plan.policy.chains}`, 1).split('\n')) {
      const start = /^\s*(set|map|chain) (\S+) \{(.*\}$)?/.exec(line);
      if (!key && start?.[3] !== undefined) {
        out.set(`${start[1]} ${start[2]}`, line); // a block on one line
        continue;
      }
      if (!key && start) [key, lines] = [`${start[1]} ${start[2]}`, [line]];
      else if (key) lines.push(line);
      if (key && line.trim() === '}') {
        out.set(key, lines.join('\n'));
        key = undefined;
      }
    }
  }
  blocksOf.set(plan, out);
  return out;
}

const blocksOf = new WeakMap<TenantPlan, ReadonlyMap<string, string>>();

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
  // Each port also gets its MAC with 0.0.0.0: the DHCP exchange of a client with no address yet (ADR 020).
  return plan.ports.flatMap((p) => [`"${p.port}" . ${p.mac} . ${p.ipCidr.split('/')[0]}`, `"${p.port}" . ${p.mac} . ${UNCONFIGURED}`]).sort();
}

const UNCONFIGURED = '0.0.0.0';

export function pinningBody(elements: string[]): string {
  return [
    `  set ports {`,
    `    type ifname . ether_addr . ipv4_addr`,
    ...(elements.length ? [`    elements = { ${elements.join(', ')} }`] : []),
    `  }`,
    `  counter ${DHCP_FLOOD.counter} {`,
    `  }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority filter; policy accept;`,
    // Lookups first: most frames are a port's own traffic and leave at the first rule. Putting
    // two wildcard iifname rules first cost 20 % of throughput (docs/adr/002).
    `    ether type ip ip saddr != ${UNCONFIGURED} iifname . ether saddr . ip saddr @ports accept`,
    // A client with no address yet is limited per port, which it cannot forge (its chaddr it can): ADR 024.
    `    ether type ip ip saddr ${UNCONFIGURED} udp dport 67 iifname "tnv*" iifname != "tnvx*" meter ${DHCP_FLOOD.meter} size ${DHCP_FLOOD.ports} { iifname timeout ${DHCP_FLOOD.timeoutSeconds}s limit rate over ${DHCP_FLOOD.perSecond}/second burst ${DHCP_FLOOD.burst} packets } counter name "${DHCP_FLOOD.counter}" drop`,
    // From 0.0.0.0 only a DHCP client's broadcast to the server, with the port's own MAC.
    `    ether type ip ip saddr ${UNCONFIGURED} ip daddr 255.255.255.255 udp sport 68 udp dport 67 iifname . ether saddr . ip saddr @ports accept`,
    `    ether type arp iifname . ether saddr . arp saddr ip @ports iifname . arp saddr ether . arp saddr ip @ports accept`,
    `    iifname "tnv*" iifname != "tnvx*" drop`,
    `  }`,
  ].join('\n');
}

export function rulesetHash(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/**
 * A script for `nft -f -` bringing Tenet's two tables to the plan in one atomic transaction.
 * The hash covers the rules, not the pinning set's elements: those change with every attach
 * and are updated in place (elementsScript), because deleting and re-adding a table with base
 * chains waits for the kernel's RCU grace periods (about 20 ms here, research/baseline.md §2)
 * and re-registers the hooks. For the same reason a changed policy is loaded in place
 * (inPlaceScript) when the kernel's tables have the structure this code writes (`have`);
 * only a new namespace, or tables of another structure, are replaced whole.
 */
export function rulesetScript(plan: TenantPlan, have: LoadedRules & { pinned?: string[] } = {}): { hash: string; script: string; inPlace: boolean } {
  const hash = rulesetHash(`${rulesetBody(plan)}\n${pinningBody([])}`);
  const base = baseHash();
  if (have.base === base && have.objects && have.pinned) return { hash, script: inPlaceScript(plan, hash, base, have.objects, have.pinned, have.texts), inPlace: true };
  const script = [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    rulesetBody(plan, hash, base),
    `}`,
    `table bridge ${NFT_TABLE} {}`,
    `delete table bridge ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE} {`,
    pinningBody(pinElements(plan)),
    `}`,
    '',
  ].join('\n');
  return { hash, script, inPlace: false };
}

/**
 * The in-place update (docs/adr/013): in ONE transaction, empty the two base chains (so nothing
 * refers to the policy's objects any more), delete the old policy's objects in reference order
 * (chains emptied first, then maps, which jump to chains, then chains, then sets), declare the
 * new ones, and fill the base chains again. The tables and their hooks are never touched, so
 * the kernel re-registers nothing; packets see the old ruleset or the new one, never a mix.
 *
 * With the old objects' text known (`texts`, docs/adr/026) only what changed is rewritten: an
 * object of the same text is left alone; a changed chain, map or set of the same header is
 * emptied (`flush`) and declared again, which refills it; a set whose header (type, flags)
 * changed is deleted and declared anew, and so is every chain that uses it (its match names
 * the key's dimensions, so its text changed too). A one-rule change of a large policy then
 * sends the one step set and chain it touched, not the whole policy.
 */
function inPlaceScript(plan: TenantPlan, hash: string, base: string, old: string[], pinned: string[], texts?: ReadonlyMap<string, string>): string {
  const t = `inet ${NFT_TABLE}`;
  const want = policyBlocks(plan);
  const same = (o: string) => texts !== undefined && texts.get(o) === want.get(o);
  const refill = (o: string) => texts !== undefined && want.has(o) && !same(o) && header(texts.get(o)) === header(want.get(o));
  const gone = old.filter((o) => !same(o) && !refill(o));
  const named = (list: string[], kind: string) => list.filter((o) => o.startsWith(`${kind} `)).map((o) => o.slice(kind.length + 1));
  const refilled = old.filter(refill);
  const declared = [...want.keys()].filter((o) => !same(o));
  return [
    `flush chain ${t} forward`,
    `flush chain ${t} input`,
    ...named([...refilled, ...gone], 'chain').map((c) => `flush chain ${t} ${c}`),
    ...named(refilled, 'map').map((m) => `flush map ${t} ${m}`),
    ...named(gone, 'map').map((m) => `delete map ${t} ${m}`),
    ...named(gone, 'chain').map((c) => `delete chain ${t} ${c}`),
    ...named(refilled, 'set').map((x) => `flush set ${t} ${x}`),
    ...named(gone, 'set').map((x) => `delete set ${t} ${x}`),
    ...(declared.length ? [`table ${t} {`, ...declared.map((o) => want.get(o)!), `}`] : []), // in the plan's order, which nft accepts
    ...forwardRules(plan, hash).map((r) => `add rule ${t} forward ${r}`),
    ...inputRules(plan, base).map((r) => `add rule ${t} input ${r}`),
    elementsScript(pinElements(plan), pinned)?.trimEnd() ?? '',
  ].filter((x) => x).join('\n') + '\n';
}

/** A block's first lines up to its contents: `set X {`, `type …`, `flags …` (what `flush` keeps). */
function header(block: string | undefined): string {
  return (block ?? '').split('\n').filter((l) => !/^\s*elements = /.test(l) && (/^\s*(set|map|chain) |^\s*(type|flags) /.test(l))).join('\n');
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
