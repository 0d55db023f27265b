/**
 * `tenet policy`, `tenet net update --policy` and `tenet ep label --remove` against a real
 * controller (MemoryStore) on a unix socket: what the commands send, print, and how a bad
 * rule reads on the terminal (one line naming the rule, position and word; exit 1).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import { MemoryStore } from '../store/memory.js';
import { buildProgram, runCli } from './program.js';

let dir = '';
let api = '';
let app: FastifyInstance;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenet-cli-policy-'));
  api = `unix:${join(dir, 'api.sock')}`;
  app = await buildControllerApp({ store: new MemoryStore(), logger: silentLogger, version: 'test' });
  await app.listen({ path: join(dir, 'api.sock') });
  for (const args of [['tenant', 'create', 'admin'], ['net', 'create', 'red', '--tenant', 'admin', '--subnet', '10.1.0.0/24'], ['net', 'create', 'green', '--tenant', 'admin', '--subnet', '10.2.0.0/24']]) {
    assert.equal((await tenet(...args)).code, 0);
  }
});

after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tenet(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['--api', api, ...args], buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }));
  return { code, out, err };
}

test('cli: the OpenContrail walkthrough: create a pass-all policy, attach it to red and green, show it', async () => {
  const c = await tenet('policy', 'create', 'policy-default', '--tenant', 'admin', '--rule', 'allow any from any to any');
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^TENANT\s+NAME\s+RULES\s+RATES\s+UPDATED\nadmin\s+policy-default\s+1\s+0\s+/);
  for (const net of ['red', 'green']) {
    const u = await tenet('net', 'update', net, '--tenant', 'admin', '--policy', 'policy-default');
    assert.equal(u.code, 0, u.err);
    assert.match(u.out, /policy-default\n$/);
  }
  const show = await tenet('policy', 'show', 'policy-default', '--tenant', 'admin');
  assert.match(show.out, /networks:\s+green, red/);
  assert.match(show.out, /#\s+RULE\n1\s+allow any from any to any\n/);
  const json = JSON.parse((await tenet('-o', 'json', 'policy', 'show', 'policy-default', '--tenant', 'admin')).out);
  assert.deepEqual(json.networks, ['green', 'red']);
  assert.match((await tenet('net', 'show', 'red', '--tenant', 'admin')).out, /policies:\s+policy-default/);
  const rm = await tenet('policy', 'rm', 'policy-default', '--tenant', 'admin');
  assert.deepEqual([rm.code, rm.err], [1, 'tenet: policy policy-default of tenant admin is attached to networks: green, red: detach it first (tenet net update NET --tenant T --policy ...)\n']);
  for (const net of ['red', 'green']) assert.equal((await tenet('net', 'update', net, '--tenant', 'admin', '--policy', '')).code, 0);
  assert.equal((await tenet('policy', 'rm', 'policy-default', '--tenant', 'admin')).out, 'removed policy policy-default of tenant admin\n');
});

test('cli: a bad rule is one line with its number and position, exit 1, and nothing is created', async () => {
  const r = await tenet('policy', 'create', 'web-db', '--tenant', 'admin', '--rule', 'allow tcp from net:red to net:green port 5432', '--rule', 'allow tcp from any to any prot 80');
  assert.deepEqual([r.code, r.err], [1, 'tenet: rule 2, position 27: "prot" is not a keyword; expected port, priority, log or the end\n']);
  assert.doesNotMatch((await tenet('policy', 'ls', '--tenant', 'admin')).out, /web-db/);
});

test('cli: update adds and removes rules by number; rate sets and removes limits in tc units', async () => {
  await tenet('policy', 'create', 'web', '--tenant', 'admin', '--rule', 'allow tcp from group:tier=web to group:tier=db port 80,443,8000-8080 priority 10', '--rule', 'deny udp from cidr:192.168.10.128/25 to any priority 5 log');
  const u = await tenet('policy', 'update', 'web', '--tenant', 'admin', '--remove-rule', '1', '--add-rule', 'allow icmp from any to net:red');
  assert.equal(u.code, 0, u.err);
  const show = (await tenet('policy', 'show', 'web', '--tenant', 'admin')).out;
  assert.match(show, /1\s+deny udp from cidr:192\.168\.10\.128\/25 to any priority 5 log\n2\s+allow icmp from any to net:red\n/);
  const bad = await tenet('policy', 'update', 'web', '--tenant', 'admin', '--remove-rule', 'x');
  assert.equal(bad.code, 2, 'a usage error');
  const rate = await tenet('policy', 'rate', 'web', '--tenant', 'admin', '--target', 'group:tier=web', '--egress', '20mbit', '--ingress', '50mbit');
  assert.equal(rate.code, 0, rate.err);
  assert.match(rate.out, /^TARGET\s+EGRESS\s+INGRESS\ngroup:tier=web\s+20mbit\s+50mbit\n$/);
  const bytes = await tenet('policy', 'rate', 'web', '--tenant', 'admin', '--target', 'group:tier=web', '--egress', '20mbps');
  assert.equal(bytes.code, 1);
  assert.match(bytes.err, /^tenet: egress rate "20mbps" is in bytes per second/);
  assert.equal((await tenet('policy', 'rate', 'web', '--tenant', 'admin', '--target', 'group:tier=web')).out, 'policy web has no rate limits\n');
  assert.equal((await tenet('policy', 'rm', 'web', '--tenant', 'admin')).code, 0);
});

test('cli: ep label sets and removes (k- or --remove k); policy check sends the flow', async () => {
  await tenet('ep', 'create', '--tenant', 'admin', '--net', 'red', '--id', 'c1', '--label', 'tier=web', '--label', 'app=x');
  const l = await tenet('-o', 'json', 'ep', 'label', 'c1', 'tier=db', '--remove', 'app');
  assert.equal(l.code, 0, l.err);
  assert.deepEqual(JSON.parse(l.out).labels, { tier: 'db' });
  const check = await tenet('policy', 'check', '--tenant', 'admin', '--from', 'c1', '--to', '10.2.0.9', '--proto', 'tcp', '--port', '5432');
  assert.equal(check.code, 0, check.err);
  assert.equal(check.out, 'deny (default: isolated networks)\n');
  const usage = await tenet('policy', 'check', '--tenant', 'admin', '--from', 'c1', '--to', 'c1', '--proto', 'sctp');
  assert.equal(usage.code, 2);
});

test('cli: policy ls needs no --tenant (every tenant\'s policies); show says where it is realized; refusals are one line', async () => {
  assert.equal((await tenet('tenant', 'create', 'other')).code, 0);
  for (const tenant of ['admin', 'other']) assert.equal((await tenet('policy', 'create', 'everyone', '--tenant', tenant, '--rule', 'allow any from any to any')).code, 0);
  const ls = await tenet('policy', 'ls');
  assert.equal(ls.code, 0, ls.err);
  assert.match(ls.out, /^admin\s+everyone\s+1\s+0\s+/m);
  assert.match(ls.out, /^other\s+everyone\s+1\s+0\s+/m);
  assert.doesNotMatch((await tenet('policy', 'ls', '--tenant', 'other')).out, /^admin/m);
  const show = await tenet('policy', 'show', 'everyone', '--tenant', 'admin');
  assert.match(show.out, /networks:\s+- \(attached to none: not in force\)\n/);
  assert.match(show.out, /realized:\s+- \(no host carries tenant admin yet\)\n/);
  const dup = await tenet('policy', 'create', 'everyone', '--tenant', 'admin', '--rule', 'deny from any to any');
  assert.deepEqual([dup.code, dup.err], [1, 'tenet: tenant admin has a policy named everyone already: pick another name, or change it with tenet policy update\n']);
  const unknown = await tenet('net', 'update', 'red', '--tenant', 'admin', '--policy', 'everyone,nope');
  assert.deepEqual([unknown.code, unknown.err], [1, 'tenet: tenant admin has no policy named "nope": list its policies with tenet policy ls --tenant admin\n']);
  assert.doesNotMatch((await tenet('net', 'show', 'red', '--tenant', 'admin')).out, /policies:\s+everyone/, 'no half attach');
  const rate = await tenet('policy', 'rate', 'everyone', '--tenant', 'admin', '--target', 'net:red', '--egress', 'fast');
  assert.deepEqual([rate.code, rate.err.split('\n').length], [1, 2]);
  assert.match(rate.err, /^tenet: egress rate "fast" is not a rate: /);
  for (const tenant of ['admin', 'other']) assert.equal((await tenet('policy', 'rm', 'everyone', '--tenant', tenant)).code, 0);
});
