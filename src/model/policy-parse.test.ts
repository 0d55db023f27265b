/**
 * The rule language's parser: golden good rules, every class of bad input with its message
 * and position, rates, and a fuzz (random word soups and random bytes) proving the parser
 * only ever throws a TenetError and always returns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTenetError, TenetError } from './errors.js';
import { formatSelector, parseRateTarget, parseRule, parseRules } from './policy-parse.js';
import { formatRate, parseRate } from './policy-rate.js';

function fails(text: string, code: string, message: RegExp | string, ruleNo = 1): void {
  assert.throws(
    () => parseRule(text, ruleNo),
    (err: unknown) => {
      assert.ok(err instanceof TenetError, String(err));
      assert.equal(err.code, code, err.message);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      assert.equal(err.message.includes('\n'), false, 'one line');
      return true;
    },
  );
}

test('parse: the issue\'s rules, golden', () => {
  assert.deepEqual(parseRule('allow any from any to any'), {
    text: 'allow any from any to any', action: 'allow', proto: 'any', from: { kind: 'any' }, to: { kind: 'any' }, ports: [], priority: 100, log: false,
  });
  assert.deepEqual(parseRule('allow tcp from net:red to net:green port 5432'), {
    text: 'allow tcp from net:red to net:green port 5432', action: 'allow', proto: 'tcp', from: { kind: 'net', name: 'red' }, to: { kind: 'net', name: 'green' },
    ports: [{ from: 5432, to: 5432 }], priority: 100, log: false,
  });
  const web = parseRule('allow tcp from group:tier=web to group:tier=db port 80,443,8000-8080 priority 10');
  assert.deepEqual(web.ports, [{ from: 80, to: 80 }, { from: 443, to: 443 }, { from: 8000, to: 8080 }]);
  assert.deepEqual([web.from, web.to, web.priority], [{ kind: 'group', key: 'tier', value: 'web' }, { kind: 'group', key: 'tier', value: 'db' }, 10]);
  const deny = parseRule('deny udp from cidr:192.168.10.128/25 to any priority 5 log');
  assert.deepEqual([deny.action, deny.proto, deny.from, deny.priority, deny.log], ['deny', 'udp', { kind: 'cidr', cidr: '192.168.10.128/25' }, 5, true]);
  const rej = parseRule('reject icmp from ep:c1 to cidr:10.0.0.5');
  assert.deepEqual([rej.action, rej.proto, rej.from, rej.to], ['reject', 'icmp', { kind: 'ep', id: 'c1' }, { kind: 'cidr', cidr: '10.0.0.5/32' }]);
});

test('parse: proto defaults to any; options in any order; spacing and keyword case normalized', () => {
  assert.equal(parseRule('deny from any to any').proto, 'any');
  const r = parseRule('  ALLOW  TCP from  Group:App=Web to any  log priority 0  port 80, 443 ,22 ');
  assert.equal(r.text, 'allow tcp from Group:App=Web to any log priority 0 port 80,443,22');
  assert.deepEqual([r.from, r.priority, r.log, r.ports.length], [{ kind: 'group', key: 'App', value: 'Web' }, 0, true, 3]);
  assert.equal(parseRule('allow udp from any to any port 1-65535 priority 65535').priority, 65535);
  assert.equal(parseRule('allow from group:example.com/tier=x to group:k=').to.kind === 'group', true);
});

test('parse: syntax errors name the rule, the position, the word and what was expected', () => {
  fails('allow tcp from any to any prot 80', 'INVALID_RULE', 'rule 2, position 27: "prot" is not a keyword; expected port, priority, log or the end', 2);
  fails('permit tcp from any to any', 'INVALID_RULE', 'rule 1, position 1: "permit" is not an action; expected allow, deny or reject');
  fails('allow sctp from any to any', 'INVALID_RULE', 'rule 1, position 7: "sctp" is not a protocol; expected any, tcp, udp, icmp or from');
  fails('allow tcp any to any', 'INVALID_RULE', 'rule 1, position 11: "any" is not a keyword; expected from');
  fails('allow tcp from any any', 'INVALID_RULE', 'rule 1, position 20: "any" is not a keyword; expected to');
  fails('allow tcp from host:x to any', 'INVALID_RULE', /^rule 1, position 16: "host:x" is not a selector; expected any, net:NAME, group:KEY=VALUE, cidr:A\.B\.C\.D\/N or ep:ID$/);
  fails('allow tcp from any to', 'INVALID_RULE', 'rule 1, position 22: the rule ends too early; expected any, net:NAME, group:KEY=VALUE, cidr:A.B.C.D/N or ep:ID');
  fails('', 'INVALID_RULE', 'rule 1, position 1: the rule ends too early; expected allow, deny or reject');
  fails('allow from any to any log log', 'INVALID_RULE', 'rule 1, position 27: "log" is given twice; expected port, priority or the end');
  fails('allow from any to any log priority', 'INVALID_RULE', /^rule 1, position 27: priority needs a number/);
  fails('allow from any to any priority 65536', 'INVALID_RULE', /^rule 1, position 32: "65536" is not a priority; expected a whole number 0\.\.65535/);
  fails('allow from any to any priority -1', 'INVALID_RULE', /position 32: "-1" is not a priority/);
  fails('allow from any to ep:-x', 'INVALID_RULE', /^rule 1, position 22: invalid endpoint id "-x"/);
});

test('parse: ports: range, lists, and never on any or icmp', () => {
  fails('allow tcp from any to any port 0', 'INVALID_RULE', /^rule 1, position 32: "0" is out of range; expected a port 1\.\.65535/);
  fails('allow tcp from any to any port 80,65536', 'INVALID_RULE', /^rule 1, position 35: "65536" is out of range/);
  fails('allow tcp from any to any port 9000-8000', 'INVALID_RULE', /position 32: "9000-8000" is a range whose start is past its end/);
  fails('allow tcp from any to any port 80,,443', 'INVALID_RULE', /position 35: "" is not a port/);
  fails('allow tcp from any to any port 80,', 'INVALID_RULE', /is not a port/);
  fails('allow tcp from any to any port http', 'INVALID_RULE', /position 32: "http" is not a port/);
  fails('allow tcp from any to any port', 'INVALID_RULE', /position 27: port needs a value/);
  fails('allow from any to any port 80', 'INVALID_RULE', /^rule 1, position 23: "port" needs tcp or udp, and this rule's protocol is any/);
  fails('allow icmp from any to any port 80', 'INVALID_RULE', /position 28: "port" needs tcp or udp, and this rule's protocol is icmp/);
});

test('parse: bad CIDRs, labels and names keep their codes, with the position of the value', () => {
  fails('deny from cidr:192.168.10.130/25 to any', 'INVALID_CIDR', 'rule 1, position 16: CIDR "192.168.10.130/25" has host bits set: the network is 192.168.10.128/25');
  fails('deny from cidr:10.0.0.0/33 to any', 'INVALID_CIDR', /position 16: invalid CIDR "10\.0\.0\.0\/33"/);
  fails('deny from cidr:300.0.0.0/8 to any', 'INVALID_CIDR', /invalid CIDR/);
  fails('deny from group:tier to any', 'INVALID_LABEL', /^rule 1, position 17: group "tier" has no "="/);
  fails('deny from group:-bad=x to any', 'INVALID_LABEL', /position 17: invalid label key "-bad"/);
  fails('deny from group:k=v! to any', 'INVALID_LABEL', /position 17: invalid value "v!" of label k/);
  fails('deny from net:Red to any', 'INVALID_NAME', /^rule 1, position 15: invalid network name "Red"/);
  fails(`deny from any to any${' '.repeat(600)}`, 'INVALID_RULE', /^rule 1: longer than 512 characters/);
});

test('parse: a list fails on its first bad rule, named by its index', () => {
  assert.equal(parseRules(['allow from any to any', 'deny from any to any']).length, 2);
  assert.throws(() => parseRules(['allow from any to any', 'allow from any to nowhere']), /^TenetError: rule 2, position 19: "nowhere"/);
  assert.throws(() => parseRules([42]), /rule 1: a rule is a string/);
});

test('rates: tc bit units to bits per second; bytes, bare numbers and nonsense refused', () => {
  assert.equal(parseRate('20mbit'), 20_000_000);
  assert.equal(parseRate('500kbit'), 500_000);
  assert.equal(parseRate('1gbit'), 1_000_000_000);
  assert.equal(parseRate('1.5GBit'), 1_500_000_000);
  assert.equal(parseRate('100000bit'), 100_000);
  assert.equal(parseRate('1mibit'), 1_048_576);
  for (const bad of ['20mbps', '20', 'fast', '-1mbit', '1kbit', '2tbit', '20 furlongs', '', '1e9bit']) {
    assert.throws(() => parseRate(bad), (e: unknown) => isTenetError(e) && e.code === 'INVALID_RATE', bad);
  }
  assert.throws(() => parseRate('20mbps', 'egress'), /egress "20mbps" is in bytes per second/);
  assert.deepEqual([formatRate(20_000_000), formatRate(1_500_000_000), formatRate(1_048_576)], ['20mbit', '1500mbit', '1048576bit']);
});

test('rates: a target is one net:, group: or ep: selector', () => {
  assert.deepEqual(parseRateTarget('group:tier=web'), { kind: 'group', key: 'tier', value: 'web' });
  assert.equal(formatSelector(parseRateTarget('net:red')), 'net:red');
  for (const bad of ['any', 'cidr:10.0.0.0/8', 'net:red net:green', '']) {
    assert.throws(() => parseRateTarget(bad), (e: unknown) => isTenetError(e), bad);
  }
});

/** A small deterministic generator: failures are reproducible from the seed in the message. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const SOUP = ['allow', 'deny', 'reject', 'any', 'tcp', 'udp', 'icmp', 'from', 'to', 'port', 'priority', 'log', 'net:red', 'group:a=b', 'group:', 'cidr:10.0.0.0/8',
  'cidr:1.2.3.4/', 'ep:x', 'ep:', '80', '80,', ',443', '1-2', '0', '99999', '-', ',', ':', '=', '/', 'net:', 'group:=', '🙂', '\u0000', 'PORT', 'From'];

function mustOnlyThrowTenetError(text: string, why: string): void {
  try {
    parseRule(text, 3);
  } catch (err) {
    assert.ok(isTenetError(err), `${why}: ${JSON.stringify(text)} threw ${String(err)}`);
    assert.equal(err.message.includes('\n'), false);
  }
}

test('fuzz: random word soups and random bytes only ever end in a rule or a TenetError', () => {
  const seed = Date.now() % 1_000_000;
  const next = rng(seed);
  for (let i = 0; i < 20_000; i++) {
    const words = Array.from({ length: Math.floor(next() * 14) }, () => SOUP[Math.floor(next() * SOUP.length)]!);
    mustOnlyThrowTenetError(words.join(next() < 0.5 ? ' ' : '  '), `seed ${seed}, soup ${i}`);
    const bytes = Array.from({ length: Math.floor(next() * 80) }, () => String.fromCharCode(Math.floor(next() * (next() < 0.9 ? 128 : 0x10000))));
    mustOnlyThrowTenetError(bytes.join(''), `seed ${seed}, bytes ${i}`);
  }
  for (let i = 0; i < 2_000; i++) {
    try {
      parseRate(String.fromCharCode(...Array.from({ length: Math.floor(next() * 20) }, () => Math.floor(next() * 128))));
    } catch (err) {
      assert.ok(isTenetError(err), `seed ${seed}: rate threw ${String(err)}`);
    }
  }
});

test('fuzz: long and pathological input returns (no backtracking blow-up)', () => {
  for (const text of ['allow tcp from any to any port ' + '1,'.repeat(240), 'a'.repeat(512), ' '.repeat(512), 'allow tcp from any to any port ' + ',' .repeat(480)]) {
    mustOnlyThrowTenetError(text, 'long');
  }
  assert.equal(parseRule('allow tcp from any to any port ' + Array.from({ length: 90 }, (_, i) => i + 1).join(',')).ports.length, 90);
});
