/**
 * Policy routes (issue 7): create/list/show/update/rates/delete, attach and detach on
 * networks, and every refusal (bad rule, duplicate, unknown network or policy, in use, too
 * many rules) as one catalogued line that changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorCode } from '../model/errors.js';
import { MAX_POLICY_RULES } from '../model/limits.js';
import { assertError, att, testApp, type TestApp } from './testing.js';

const T = '/v1/tenants/acme';
const POL = `${T}/policies`;

async function setup(): Promise<TestApp> {
  const t = await testApp();
  assert.equal((await t.call('POST', '/v1/tenants', { name: 'acme' })).status, 201);
  for (const [name, subnet] of [['red', '10.1.0.0/24'], ['green', '10.2.0.0/24']]) {
    assert.equal((await t.call('POST', `${T}/networks`, { name, subnet })).status, 201);
  }
  return t;
}

test('policies: create parses every rule, lists, shows; the walkthrough attaches one policy to two networks', async () => {
  const t = await setup();
  const created = await t.call('POST', POL, { name: 'policy-default', rules: ['allow   any from any to any'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.rules[0].text, 'allow any from any to any');
  assert.deepEqual(created.body.rates, []);
  assert.deepEqual((await t.call('GET', POL)).body, [created.body]);
  assert.deepEqual((await t.call('GET', '/v1/policies')).body, [created.body]);
  for (const net of ['red', 'green']) {
    const res = await t.call('PATCH', `${T}/networks/${net}`, { policies: ['policy-default'] });
    assert.deepEqual([res.status, res.body.policies], [200, ['policy-default']]);
  }
  const shown = (await t.call('GET', `${POL}/policy-default`)).body;
  assert.deepEqual(shown.policy, created.body);
  assert.deepEqual(shown.networks, ['green', 'red']);
  assert.equal(shown.realization.policy, 'policy-default');
  assert.ok(t.logs.some((l) => l.msg === 'policy created' && l.fields.policy === 'policy-default'));
  await t.app.close();
});

test('bridged traffic: which networks meet conntrack where bridged, and the policies that make them (as the agents decide)', async () => {
  const t = await setup();
  const bridged = async (net: string) => (await t.call('GET', `${T}/networks/${net}/bridged-traffic`)).body;
  const off = { conntrack: false, policies: [] };
  assert.deepEqual([await bridged('red'), await bridged('green')], [off, off], 'no policy anywhere');
  await t.call('POST', POL, { name: 'fence', rules: ['deny icmp from net:red to net:red'] });
  await t.call('POST', POL, { name: 'inside', rules: ['allow tcp from net:green to net:green port 80'] });
  await t.call('PATCH', `${T}/networks/red`, { policies: ['fence'] });
  await t.call('PATCH', `${T}/networks/green`, { policies: ['inside'] });
  assert.deepEqual([await bridged('red'), await bridged('green')], [{ conntrack: true, policies: ['fence'] }, off], 'an allow inside green allows what is allowed anyway');
  await t.call('POST', POL, { name: 'link', rules: ['allow tcp from net:red to net:green port 5432'] });
  await t.call('PATCH', `${T}/networks/green`, { policies: ['inside', 'link'] });
  assert.deepEqual([await bridged('red'), await bridged('green')], [{ conntrack: true, policies: ['fence', 'link'] }, { conntrack: true, policies: ['link'] }]);
  assertError(await t.call('GET', `${T}/networks/blue/bridged-traffic`), 'NETWORK_NOT_FOUND');
  await t.app.close();
});

test('policies: one bad rule creates nothing, and the error names the rule, position and word', async () => {
  const t = await setup();
  const rev = await t.store.revision();
  const msg = assertError(await t.call('POST', POL, { name: 'web', rules: ['allow from any to any', 'allow tcp from any to any prot 80'] }), 'INVALID_RULE');
  assert.equal(msg, 'rule 2, position 27: "prot" is not a keyword; expected port, priority, log or the end');
  assertError(await t.call('POST', POL, { name: 'web', rules: ['deny from cidr:10.0.0.1/24 to any'] }), 'INVALID_CIDR');
  assertError(await t.call('POST', POL, { name: 'web', rules: ['deny from group:a=b! to any'] }), 'INVALID_LABEL');
  assertError(await t.call('POST', POL, { name: 'web', rules: ['allow udp from any to any port 70000'] }), 'INVALID_RULE');
  assert.match(assertError(await t.call('POST', POL, { name: 'web', rules: ['allow from any to any', 'allow from net:blue to any'] }), 'NETWORK_NOT_FOUND'), /^rule 2: tenant acme has no network named "blue"/);
  assertError(await t.call('POST', POL, { name: 'Web', rules: [] }), 'INVALID_NAME');
  assertError(await t.call('POST', POL, { name: 'web' }), 'BAD_REQUEST');
  assertError(await t.call('POST', '/v1/tenants/nope/policies', { name: 'web', rules: [] }), 'TENANT_NOT_FOUND');
  assert.equal(await t.store.revision(), rev, 'nothing written');
  await t.app.close();
});

test('policies: duplicate names, unknown policies and policies in use are refused, naming what is wrong', async () => {
  const t = await setup();
  assert.equal((await t.call('POST', POL, { name: 'web', rules: [] })).status, 201);
  assertError(await t.call('POST', POL, { name: 'web', rules: ['allow from any to any'] }), 'POLICY_EXISTS');
  assertError(await t.call('GET', `${POL}/nope`), 'POLICY_NOT_FOUND');
  assertError(await t.call('PATCH', `${POL}/nope`, { addRules: [] }), 'POLICY_NOT_FOUND');
  assertError(await t.call('DELETE', `${POL}/nope`), 'POLICY_NOT_FOUND');
  assertError(await t.call('PATCH', `${T}/networks/red`, { policies: ['web', 'nope'] }), 'POLICY_NOT_FOUND');
  assert.equal((await t.call('GET', `${T}/networks/red`)).body.policies, undefined, 'no half attach');
  assertError(await t.call('PATCH', `${T}/networks/blue`, { policies: ['web'] }), 'NETWORK_NOT_FOUND');
  await t.call('PATCH', `${T}/networks/red`, { policies: ['web'] });
  await t.call('PATCH', `${T}/networks/green`, { policies: ['web'] });
  assert.match(assertError(await t.call('DELETE', `${POL}/web`), 'POLICY_IN_USE'), /attached to networks: green, red/);
  assert.match(assertError(await t.call('DELETE', '/v1/tenants/acme'), 'TENANT_IN_USE'), /networks/);
  // Detach: [] (and the CLI's '' split) detaches all; then the delete goes through.
  assert.equal((await t.call('PATCH', `${T}/networks/red`, { policies: [] })).body.policies, undefined);
  assert.equal((await t.call('PATCH', `${T}/networks/green`, { policies: [''] })).body.policies, undefined);
  assert.equal((await t.call('DELETE', `${POL}/web`)).status, 204);
  assertError(await t.call('GET', `${POL}/web`), 'POLICY_NOT_FOUND');
  await t.app.close();
});

test('policies: attach keeps order, drops repeats; a network with policies can still be deleted', async () => {
  const t = await setup();
  for (const name of ['a', 'b']) await t.call('POST', POL, { name, rules: [] });
  assert.deepEqual((await t.call('PATCH', `${T}/networks/red`, { policies: ['b', 'a', 'b'] })).body.policies, ['b', 'a']);
  assert.equal((await t.call('DELETE', `${T}/networks/red`)).status, 204);
  assert.equal((await t.call('DELETE', `${POL}/a`)).status, 204);
  await t.app.close();
});

test('policies: update removes by 1-based number then adds; bad numbers and bad added rules change nothing', async () => {
  const t = await setup();
  await t.call('POST', POL, { name: 'web', rules: ['allow tcp from any to any port 80', 'deny from any to any', 'allow udp from any to any port 53'] });
  const res = await t.call('PATCH', `${POL}/web`, { removeRules: [2], addRules: ['reject icmp from net:red to net:green priority 5'] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.rules.map((r: { text: string }) => r.text), ['allow tcp from any to any port 80', 'allow udp from any to any port 53', 'reject icmp from net:red to net:green priority 5']);
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('PATCH', `${POL}/web`, { removeRules: [9] }), 'INVALID_RULE'), /policy web has no rule 9 \(it has 3\)/);
  assert.match(assertError(await t.call('PATCH', `${POL}/web`, { addRules: ['allow from any to any', 'allow frm any to any'] }), 'INVALID_RULE'), /^added rule 2, position 7/);
  assertError(await t.call('PATCH', `${POL}/web`, { addRules: ['allow from net:blue to any'] }), 'NETWORK_NOT_FOUND');
  assertError(await t.call('PATCH', `${POL}/web`, { removeRules: [0] }), 'BAD_REQUEST');
  assert.equal(await t.store.revision(), rev, 'nothing written');
  await t.app.close();
});

test('policies: 10,000 rules fit in one create; one more is TOO_MANY_RULES, by create or by update', async () => {
  const t = await setup();
  const rules = Array.from({ length: MAX_POLICY_RULES }, (_, i) => `allow tcp from cidr:10.${i >> 8}.${i & 255}.0/24 to net:green port ${1 + (i % 60000)} priority ${i % 1000}`);
  const res = await t.call('POST', POL, { name: 'big', rules });
  assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.rules.length, MAX_POLICY_RULES);
  assertError(await t.call('PATCH', `${POL}/big`, { addRules: ['allow from any to any'] }), 'TOO_MANY_RULES');
  const over = await t.call('POST', POL, { name: 'bigger', rules: [...rules, 'allow from any to any'] });
  assertError(over, 'BAD_REQUEST'); // the schema's ceiling answers first
  assert.equal((await t.call('GET', POL)).body.length, 1);
  await t.app.close();
});

test('policies: rates are set per target, replaced, removed with both rates absent; bad rates and targets refused', async () => {
  const t = await setup();
  await t.call('POST', POL, { name: 'web', rules: [] });
  const set = await t.call('PUT', `${POL}/web/rates`, { target: 'group:tier=web', egress: '20mbit', ingress: '50mbit' });
  assert.deepEqual(set.body.rates, [{ target: { kind: 'group', key: 'tier', value: 'web' }, egressBps: 20_000_000, ingressBps: 50_000_000 }]);
  const replaced = await t.call('PUT', `${POL}/web/rates`, { target: 'group:tier=web', egress: '1gbit' });
  assert.deepEqual(replaced.body.rates, [{ target: { kind: 'group', key: 'tier', value: 'web' }, egressBps: 1_000_000_000 }]);
  await t.call('PUT', `${POL}/web/rates`, { target: 'net:red', ingress: '500kbit' });
  assert.equal((await t.call('PUT', `${POL}/web/rates`, { target: 'group:tier=web' })).body.rates.length, 1);
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('PUT', `${POL}/web/rates`, { target: 'net:red', egress: '20mbps' }), 'INVALID_RATE'), /bytes per second/);
  assertError(await t.call('PUT', `${POL}/web/rates`, { target: 'any', egress: '1mbit' }), 'INVALID_RATE');
  assertError(await t.call('PUT', `${POL}/web/rates`, { target: 'net:blue', egress: '1mbit' }), 'NETWORK_NOT_FOUND');
  assertError(await t.call('PUT', `${POL}/web/rates`, { target: 'group:x', egress: '1mbit' }), 'INVALID_LABEL');
  assert.equal(await t.store.revision(), rev, 'nothing written');
  await t.app.close();
});

test('policies: show says where the current version is realized: the hosts carrying the tenant', async () => {
  const t = await setup();
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  await t.call('POST', `${T}/networks/red/endpoints`, { id: 'c1', host: 'h1', attachment: att('/run/netns/c1') });
  await t.call('POST', POL, { name: 'web', rules: ['allow from any to any'] });
  await t.call('PATCH', `${T}/networks/red`, { policies: ['web'] });
  const detail = (await t.call('GET', `${POL}/web`)).body;
  assert.deepEqual(detail.realization.hosts.map((h: { host: string }) => h.host), ['h1'], 'h2 carries no endpoint of acme');
  assert.equal(detail.realization.realized, false, 'h1 has reported nothing yet');
  assert.equal(detail.realization.revision, (await t.store.get('/tenet/networks/acme/red'))!.modRevision, 'the attach is the last change');
  await t.app.close();
});

test('policies: policy-check resolves both ends, refuses unknown ones, and answers the compiled verdict with the rule that decides it', async () => {
  const t = await setup();
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  await t.call('POST', `${T}/networks/red/endpoints`, { id: 'c1', host: 'h1', attachment: att('/run/netns/c1') });
  const CHECK = `${T}/policy-check`;
  assertError(await t.call('POST', CHECK, { from: 'nope', to: 'c1', proto: 'tcp', port: 80 }), 'ENDPOINT_NOT_FOUND');
  assertError(await t.call('POST', CHECK, { from: 'c1', to: 'nope', proto: 'tcp', port: 80 }), 'ENDPOINT_NOT_FOUND');
  assertError(await t.call('POST', CHECK, { from: 'c1', to: '10.2.0.5', proto: 'sctp' }), 'BAD_REQUEST');
  assertError(await t.call('POST', CHECK, { from: 'c1', to: '10.2.0.5', proto: 'tcp', port: 0 }), 'BAD_REQUEST');
  const isolated = await t.call('POST', CHECK, { from: 'c1', to: '10.2.0.5', proto: 'tcp', port: 80 });
  assert.deepEqual(isolated.body, { verdict: 'deny', rule: null, reason: 'default: isolated networks' });
  assert.equal((await t.call('POST', POL, { name: 'web', rules: ['deny tcp from any to any port 22', 'allow tcp from net:red to net:green port 80'] })).status, 201);
  assert.equal((await t.call('PATCH', `${T}/networks/green`, { policies: ['web'] })).status, 200);
  const allowed = await t.call('POST', CHECK, { from: 'c1', to: '10.2.0.5', proto: 'tcp', port: 80 });
  assert.deepEqual(allowed.body, { verdict: 'allow', rule: { policy: 'web', index: 2, text: 'allow tcp from net:red to net:green port 80' }, reason: allowed.body.reason });
  assert.equal((await t.call('POST', CHECK, { from: 'c1', to: '10.2.0.5', proto: 'tcp', port: 22 })).body.verdict, 'deny');
  await t.app.close();
});

/** Issue 7's "Bad input" list, one request each: the one line it answers, word for word. */
const BAD_INPUTS: [string, string, string, unknown, ErrorCode, string][] = [
  ['malformed rule text (points at the word)', 'POST', POL, { name: 'new', rules: ['allow tcp from any to any', 'allow tcp frm any to any'] }, 'INVALID_RULE', 'rule 2, position 11: "frm" is not a keyword; expected from'],
  ['port out of range', 'POST', POL, { name: 'new', rules: ['allow tcp from any to any port 70000'] }, 'INVALID_RULE', 'rule 1, position 32: "70000" is out of range; expected a port 1..65535 or a range such as 8000-8080'],
  ['port on icmp', 'POST', POL, { name: 'new', rules: ['allow icmp from any to any port 80'] }, 'INVALID_RULE', 'rule 1, position 28: "port" needs tcp or udp, and this rule\'s protocol is icmp; write e.g. "allow tcp from ... port 80"'],
  ['port on any', 'POST', POL, { name: 'new', rules: ['allow any from any to any port 80'] }, 'INVALID_RULE', 'rule 1, position 27: "port" needs tcp or udp, and this rule\'s protocol is any; write e.g. "allow tcp from ... port 80"'],
  ['bad CIDR', 'POST', POL, { name: 'new', rules: ['deny from cidr:10.0.0.300/24 to any'] }, 'INVALID_CIDR', 'rule 1, position 16: invalid CIDR "10.0.0.300/24": give an IPv4 prefix such as 192.168.10.0/24'],
  ['CIDR with host bits', 'POST', POL, { name: 'new', rules: ['deny from cidr:10.0.0.1/24 to any'] }, 'INVALID_CIDR', 'rule 1, position 16: CIDR "10.0.0.1/24" has host bits set: the network is 10.0.0.0/24'],
  ['bad label', 'POST', POL, { name: 'new', rules: ['deny from group:tier to any'] }, 'INVALID_LABEL', 'rule 1, position 17: group "tier" has no "=": write group:KEY=VALUE, e.g. group:tier=web'],
  ['unknown network in a rule', 'POST', POL, { name: 'new', rules: ['allow from any to any', 'allow from net:blue to any'] }, 'NETWORK_NOT_FOUND', 'rule 2: tenant acme has no network named "blue": create it first (tenet net create) or fix the name'],
  ['duplicate policy name', 'POST', POL, { name: 'web', rules: ['allow from any to any'] }, 'POLICY_EXISTS', 'tenant acme has a policy named web already: pick another name, or change it with tenet policy update'],
  ['unknown policy (show)', 'GET', `${POL}/nope`, undefined, 'POLICY_NOT_FOUND', 'tenant acme has no policy named "nope": list its policies with tenet policy ls --tenant acme'],
  ['unknown policy (update)', 'PATCH', `${POL}/nope`, { addRules: ['allow from any to any'] }, 'POLICY_NOT_FOUND', 'tenant acme has no policy named "nope": list its policies with tenet policy ls --tenant acme'],
  ['unknown policy (rate)', 'PUT', `${POL}/nope/rates`, { target: 'net:red', egress: '1mbit' }, 'POLICY_NOT_FOUND', 'tenant acme has no policy named "nope": list its policies with tenet policy ls --tenant acme'],
  ['unknown policy (attach)', 'PATCH', `${T}/networks/green`, { policies: ['web', 'nope'] }, 'POLICY_NOT_FOUND', 'tenant acme has no policy named "nope": list its policies with tenet policy ls --tenant acme'],
  ['unknown network (attach)', 'PATCH', `${T}/networks/blue`, { policies: ['web'] }, 'NETWORK_NOT_FOUND', 'tenant acme has no network named "blue": list its networks with tenet net ls'],
  ['unknown network (rate target)', 'PUT', `${POL}/web/rates`, { target: 'net:blue', egress: '1mbit' }, 'NETWORK_NOT_FOUND', 'target net:blue: tenant acme has no network named "blue": create it first (tenet net create) or fix the name'],
  ['a rate that is not a rate', 'PUT', `${POL}/web/rates`, { target: 'net:red', egress: 'fast' }, 'INVALID_RATE', 'egress rate "fast" is not a rate: write a number and a bit unit, e.g. 500kbit, 20mbit or 1gbit (tc units: kbit = 1000 bit/s, kibit = 1024)'],
  ['a rate without a unit', 'PUT', `${POL}/web/rates`, { target: 'net:red', ingress: '20' }, 'INVALID_RATE', 'ingress rate "20" has no unit: write a number and a bit unit, e.g. 500kbit, 20mbit or 1gbit (tc units: kbit = 1000 bit/s, kibit = 1024)'],
  ['a bad rule added by update', 'PATCH', `${POL}/web`, { removeRules: [1], addRules: ['allow udp from any to any port 53', 'allow udp from any to any port 0'] }, 'INVALID_RULE', 'added rule 2, position 32: "0" is out of range; expected a port 1..65535 or a range such as 8000-8080'],
  ['rm while attached (names the networks)', 'DELETE', `${POL}/web`, undefined, 'POLICY_IN_USE', 'policy web of tenant acme is attached to networks: red: detach it first (tenet net update NET --tenant T --policy ...)'],
];

test('policies: every bad input of issue 7 is one line naming what is wrong, and nothing is written', async () => {
  const t = await setup();
  assert.equal((await t.call('POST', POL, { name: 'web', rules: ['allow tcp from any to any port 80'] })).status, 201);
  assert.equal((await t.call('PATCH', `${T}/networks/red`, { policies: ['web'] })).status, 200);
  const rev = await t.store.revision();
  for (const [what, method, url, body, code, message] of BAD_INPUTS) {
    const got = assertError(await t.call(method, url, body), code);
    assert.equal(got.includes('\n'), false, `${what}: one line`);
    assert.equal(got, message, what);
  }
  assert.equal(await t.store.revision(), rev, 'nothing written');
  assertError(await t.call('GET', `${POL}/new`), 'POLICY_NOT_FOUND'); // no half-created policy
  assert.deepEqual((await t.call('GET', `${POL}/web`)).body.policy.rules.map((r: { text: string }) => r.text), ['allow tcp from any to any port 80']);
  await t.app.close();
});
