/** The conntrack text parser (conntrack.ts): real lines, every shape of damage, and a fuzz run. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { betweenNetworks, deleteArgs, parseConntrack, parseConntrackLine } from './conntrack.js';
import { buildPlan } from './plan.js';
import { ep, host, net } from './testing/objects.js';

const TCP = 'tcp      6 431999 ESTABLISHED src=192.168.10.2 dst=192.168.20.2 sport=36022 dport=5201 src=192.168.20.2 dst=192.168.10.2 sport=5201 dport=36022 [ASSURED] mark=0 use=1';
const TCP_EXT = `ipv4     2 ${TCP} id=1696537286`;
const ICMP = 'icmp     1 18 src=192.168.10.2 dst=192.168.10.3 type=8 code=0 id=30899 src=192.168.10.3 dst=192.168.10.2 type=0 code=0 id=30899 mark=0 use=1';
const UDP = 'udp      17 29 src=192.168.10.2 dst=192.168.20.2 sport=5353 dport=53 [UNREPLIED] src=192.168.20.2 dst=192.168.10.2 sport=53 dport=5353 mark=0 use=1';
const OTHER = 'unknown  2 578 src=192.168.20.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=192.168.20.1 mark=0 use=1';

test('conntrack lines: the original tuple of tcp, udp, icmp and other flows, default and extended output', () => {
  const tcp = { proto: 'tcp', src: '192.168.10.2', dst: '192.168.20.2', sport: 36022, dport: 5201, state: 'ESTABLISHED' };
  assert.deepEqual(parseConntrackLine(TCP), tcp);
  assert.deepEqual(parseConntrackLine(TCP_EXT), tcp);
  assert.deepEqual(parseConntrackLine(ICMP), { proto: 'icmp', src: '192.168.10.2', dst: '192.168.10.3', icmp: { type: 8, code: 0, id: 30899 } });
  assert.deepEqual(parseConntrackLine(UDP), { proto: 'udp', src: '192.168.10.2', dst: '192.168.20.2', sport: 5353, dport: 53 });
  assert.deepEqual(parseConntrackLine(OTHER), { proto: 'unknown', src: '192.168.20.1', dst: '224.0.0.22' });
  assert.deepEqual(deleteArgs(parseConntrackLine(TCP)!), ['-p', 'tcp', '-s', '192.168.10.2', '-d', '192.168.20.2', '--sport', '36022', '--dport', '5201']);
  assert.deepEqual(deleteArgs(parseConntrackLine(ICMP)!), ['-p', 'icmp', '-s', '192.168.10.2', '-d', '192.168.10.3', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '30899']);
});

test('conntrack lines: damaged ones are skipped, each on its own', () => {
  const bad = [
    '',
    'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
    'ipv6     10 tcp      6 431999 ESTABLISHED src=fe80::1 dst=fe80::2 sport=1 dport=2',
    TCP.replace('sport=36022', 'sport=99999'),
    TCP.replace('src=192.168.10.2', 'src=192.168.10.256'),
    TCP.replace('dport=5201 ', ''),
    ICMP.replace('type=8', 'type=x'),
    'tcp src=1.2.3.4',
    '\u0000\u0001 src=1.2.3.4 dst=5.6.7.8',
    'TCP 6 src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2',
  ];
  for (const line of bad) assert.equal(parseConntrackLine(line), undefined, JSON.stringify(line));
  const flows = parseConntrack([bad[0], TCP, ...bad.slice(1, 5), ICMP, ...bad.slice(5), UDP].join('\n'));
  assert.deepEqual(flows.map((f) => f.proto), ['tcp', 'icmp', 'udp']);
});

test('conntrack fuzz: random and mutated lines never throw and never hide a good line', () => {
  const good = [TCP, ICMP, UDP, TCP_EXT];
  for (let round = 0; round < 300; round++) {
    const junk = Array.from({ length: 5 }, () => mutate(good[round % good.length]!));
    const lines = [...junk, good[round % good.length]!];
    const flows = parseConntrack(shuffle(lines).join('\n'));
    assert.ok(flows.some((f) => f.src === '192.168.10.2'), `round ${round}`);
    for (const f of flows) assert.ok(/^\d+\.\d+\.\d+\.\d+$/.test(f.src) && /^\d+\.\d+\.\d+\.\d+$/.test(f.dst));
  }
});

test('without a policy, flows between two networks of the tenant are denied, inside one allowed', () => {
  const red = net('acme', 'red', '192.168.10.0/24', 4101);
  const green = net('acme', 'green', '192.168.20.0/24', 4102);
  const plan = buildPlan({ host: 'h1', vtep: '10.0.0.1', underlayMtu: 1500, underlay: 'default', nsPrefix: 'tn-', networks: [red, green], endpoints: [ep('c1', red, 'h1', '192.168.10.2', '/run/netns/x')], hosts: [host('h1', '10.0.0.1')] });
  const denies = betweenNetworks(plan.tenants[0]!);
  assert.equal(denies(parseConntrackLine(TCP)!), true);
  assert.equal(denies(parseConntrackLine(ICMP)!), false);
  assert.equal(denies(parseConntrackLine(OTHER)!), false, 'multicast is in no network');
});

function mutate(line: string): string {
  const r = randomBytes(4);
  const chars = [...line];
  switch (r[0]! % 5) {
    case 0:
      return randomBytes(r[1]! % 80).toString('latin1');
    case 1:
      chars.splice(r[1]! % chars.length, r[2]! % 20);
      return chars.join('');
    case 2:
      chars[r[1]! % chars.length] = String.fromCharCode(r[2]!);
      return chars.join('');
    case 3:
      return line.split(' ').reverse().join(' ');
    default:
      return line.slice(0, r[1]! % line.length) + '=' + line.slice(r[1]! % line.length);
  }
}

function shuffle<T>(xs: T[]): T[] {
  return xs.map((x) => [Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
}
