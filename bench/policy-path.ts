/**
 * Policy path (issue 7, ADR 013): what it costs to let bridged traffic meet conntrack.
 * Stateful rules inside one network, and the cross-host reply of a routed flow, need the
 * bridged packet to pass the IPv4 hooks, i.e. br_netfilter on in the tenant namespace.
 * Measured on the hand-built two-host VXLAN path of bench/lib/rawvxlan.ts (Tenet's shape),
 * same-network, cross-host, single-stream TCP, in these modes switched between rounds:
 *
 *   off        bridge-nf-call-iptables=0, no inet table: a network without rules (the baseline)
 *   brnf       bridge-nf-call-iptables=1, an inet forward chain with no rule (policy accept)
 *   brnf+ct    bridge-nf-call-iptables=1, `ct state established,related accept` first: conntrack
 *              now tracks every bridged flow on both hosts
 *   bridge-opt as brnf+ct, switched on by the bridge's own nf_call_iptables option, not the
 *              namespace's sysctl: what Tenet does (per bridge, ADR 013 addendum)
 *   ct-one     as brnf+ct, but the first host marks every packet `notrack` (a raw prerouting
 *              chain): conntrack on one host of the two. An experiment (ADR 013 addendum):
 *              would tracking each same-network flow on one host only pay for itself?
 *
 * `--modes a,b,…` picks some (default: all, `off` always included).
 *
 * Rounds rotate the order of the modes, so slow drift on this shared machine hits all alike.
 * Figures are printed (medians and ratios to `off` of the same run), never asserted.
 *
 *   node dist/bench/policy-path.js [--rounds 3] [--seconds 5] [--modes off,brnf,brnf+ct,bridge-opt,ct-one]
 */
import { formatTable } from '../src/base/table.js';
import { iperf } from './lib/iperf.js';
import { deleteByPrefix, inNs, now, sh, waitReachable } from './lib/kernel.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import { buildRawVxlan } from './lib/rawvxlan.js';
import { fmt, median, medianRange } from './lib/stats.js';
import { randomBytes } from 'node:crypto';

const ALL_MODES = ['off', 'brnf', 'brnf+ct', 'bridge-opt', 'ct-one'] as const;
type Mode = (typeof ALL_MODES)[number];

function modesArg(): Mode[] {
  const i = process.argv.indexOf('--modes');
  if (i < 0) return [...ALL_MODES];
  const asked = (process.argv[i + 1] ?? '').split(',');
  const bad = asked.filter((m) => !(ALL_MODES as readonly string[]).includes(m));
  if (bad.length || !asked.length) {
    console.error(`--modes wants a comma-separated list of ${ALL_MODES.join(', ')}; got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return ALL_MODES.filter((m) => m === 'off' || asked.includes(m));
}
const MODES = modesArg();

const TABLE = 'policybench';

function modeScript(mode: Mode, host: number): string {
  const tracked = mode === 'brnf+ct' || mode === 'bridge-opt' || (mode === 'ct-one' && host === 1);
  const rules = tracked ? ['    ct state established,related accept'] : mode === 'ct-one' ? ['    ct state untracked accept'] : [];
  const raw = mode === 'ct-one' && host === 0 ? ['  chain raw {', '    type filter hook prerouting priority raw; policy accept;', '    notrack', '  }'] : [];
  return [
    `table inet ${TABLE} {}`,
    `delete table inet ${TABLE}`,
    ...(mode === 'off'
      ? []
      : [`table inet ${TABLE} {`, '  chain forward {', '    type filter hook forward priority filter; policy accept;', ...rules, '  }', ...raw, '}']),
    '',
  ].join('\n');
}

async function setMode(hostNamespaces: string[], mode: Mode): Promise<void> {
  const on = mode === 'off' || mode === 'bridge-opt' ? 0 : 1;
  for (const [i, ns] of hostNamespaces.entries()) {
    await sh(inNs(ns, ['sysctl', '-q', '-w', `net.bridge.bridge-nf-call-iptables=${on}`]));
    await sh(['ip', '-n', ns, 'link', 'set', 'br0', 'type', 'bridge', 'nf_call_iptables', mode === 'bridge-opt' ? '1' : '0']);
    await sh(inNs(ns, ['nft', '-f', '-']), modeScript(mode, i));
    // Entries from the previous mode would make the first packets "established" for free.
    await sh(inNs(ns, ['conntrack', '-F']), undefined).catch(() => undefined);
  }
}

runBench('policy-path', async (cleanup) => {
  const rounds = intArg('rounds', 3, 20);
  const seconds = intArg('seconds', 5, 60);
  printReproduce('policy-path', `--rounds ${rounds} --seconds ${seconds} --modes ${MODES.join(',')}`);
  const prefix = `bp${randomBytes(2).toString('hex')}`;
  cleanup.add(`delete namespaces ${prefix}-*`, () => deleteByPrefix(prefix));
  const raw = await buildRawVxlan(prefix);
  const hostNs = [`${prefix}-raw-h1`, `${prefix}-raw-h2`];
  if ((await waitReachable(raw.client.ns, raw.server.ip, now())) === undefined) throw new Error('the raw path does not answer ping');
  await iperf(raw.client, raw.server, 1); // warm-up

  const gbps = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  const paired = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  for (let r = 0; r < rounds; r++) {
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
    const got: Partial<Record<Mode, number>> = {};
    for (const mode of order) {
      cleanup.check();
      await setMode(hostNs, mode);
      const s = await iperf(raw.client, raw.server, seconds);
      const tracked = mode === 'off' ? 0 : await trackedFlows(hostNs[1]!);
      got[mode] = s.gbps;
      gbps[mode].push(s.gbps);
      console.log(`round ${r + 1} ${mode.padEnd(8)} ${fmt(s.gbps)} Gbit/s  retransmits ${s.retransmits}  conntrack entries on h2 ${tracked}`);
    }
    for (const m of MODES) paired[m].push(got[m]! / got.off!);
  }
  await setMode(hostNs, 'off');
  const rows = MODES.map((m) => [m, medianRange(gbps[m]), fmt(median(gbps[m]) / median(gbps.off)), medianRange(paired[m])]);
  console.log(`\nsame-network cross-host single-stream TCP, ${rounds} round(s) of ${seconds} s, median [min–max]`);
  process.stdout.write(formatTable(['mode', 'TCP Gbit/s', 'ratio of medians to off', 'ratio within each round'], rows));
});

async function trackedFlows(ns: string): Promise<number> {
  const r = await sh(inNs(ns, ['conntrack', '-C']));
  return Number(r.stdout.trim());
}
