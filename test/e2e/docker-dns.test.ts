/**
 * Issue 10 on a real dockerd: what a container on a `-d tenet` network resolves. Docker gives
 * every container of a user-defined network its embedded resolver (127.0.0.11), whatever the
 * driver; the remote driver API has no way to name a DNS server (JoinResponse carries only
 * interface, gateway and routes). Without flags, the embedded resolver knows the containers
 * of its own dockerd and forwards the rest to the host's resolvers, where Tenet's names are
 * unknown; with `--dns <gateway> --dns-search <net>.<tenant>` it forwards them to Tenet's
 * server. The Tenet endpoint `db1` stands for a container on another host: its name is in
 * Tenet's DNS only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUSYBOX_IMAGE as IMAGE, TestDockerd } from '../support/dockerd.js';
import { eventually, exec, TenetUp, type Out } from '../support/tenet-up.js';

const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `tenet-dkd-${suffix}-`));
const dockerd = new TestDockerd({ ownPlugins: true });
const tenet = new TenetUp(dir, `dkd-${suffix}`, `tdd${suffix}-`, dockerd);
const docker = (...a: string[]) => dockerd.cli(...a);
const VNI = 500_000 + randomBytes(2).readUInt16BE() * 4;
const GW = '192.168.89.1';
const DB_NS = `tdw${suffix}-db`;
let dbIp = '';

function ok(out: Out, what: string): string {
  assert.equal(out.code, 0, `${what} failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** busybox nslookup in a container, bounded (an unanswered query would retry for long). */
const lookup = (c: string, name: string) => docker('exec', c, 'timeout', '8', 'nslookup', name);
const has = (out: Out, ip: string) => new RegExp(`Address:\\s+${ip.replace(/\./g, '\\.')}\\b`).test(out.stdout);

before(async () => {
  await tenet.setUp('admin');
  ok(await docker('network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '--subnet', '192.168.89.0/24', '-o', 'tenant=admin', '-o', `vni=${VNI}`, 'red'), 'network create');
  ok(await docker('run', '-d', '--name', 'web', '--net=red', IMAGE, 'sleep', '600'), 'run web');
  // An endpoint Docker does not know (as a container on another host would be), named db1 in Tenet.
  await exec('ip', ['netns', 'add', DB_NS]);
  dbIp = JSON.parse(ok(await tenet.tenet('-o', 'json', 'ep', 'attach', '--tenant', 'admin', '--net', 'red', '--netns', `/run/netns/${DB_NS}`, '--name', 'db1'), 'ep attach db1')).ip as string;
  // Tenet's server answers at the gateway (checked from the host's side of nothing: from a container, explicitly).
  ok(await docker('run', '-d', '--name', 'probe', '--net=red', IMAGE, 'sleep', '600'), 'run probe');
  assert.ok(await eventually(async () => has(await docker('exec', 'probe', 'nslookup', 'db1.red.admin', GW), dbIp), 80), "Tenet's DNS answers db1 at the gateway");
});
after(async () => {
  await tenet.tearDown();
  await exec('ip', ['netns', 'del', DB_NS]);
});

test('no --dns: the embedded resolver (127.0.0.11) resolves the containers of its own dockerd, not Tenet-only names', async () => {
  ok(await docker('run', '-d', '--name', 'plain', '--net=red', IMAGE, 'sleep', '600'), 'run plain');
  const conf = ok(await docker('exec', 'plain', 'cat', '/etc/resolv.conf'), 'cat resolv.conf');
  assert.match(conf, /^nameserver 127\.0\.0\.11$/m, "Docker's embedded resolver, not the gateway");
  assert.doesNotMatch(conf, new RegExp(GW.replace(/\./g, '\\.')));
  const webIp = ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.red.IPAddress}}', 'web'), 'inspect web');
  assert.ok(has(await lookup('plain', 'web'), webIp), 'positive control: a container of the same dockerd resolves');
  assert.ok(!has(await lookup('plain', 'db1.red.admin'), dbIp), 'a Tenet-only name is forwarded to the host resolvers, which do not know it');
});

test('--dns <gateway> --dns-search red.admin: Tenet names resolve through the embedded resolver', async () => {
  ok(await docker('run', '-d', '--name', 'tuned', '--net=red', '--dns', GW, '--dns-search', 'red.admin', IMAGE, 'sleep', '600'), 'run tuned');
  const conf = ok(await docker('exec', 'tuned', 'cat', '/etc/resolv.conf'), 'cat resolv.conf');
  assert.match(conf, /^nameserver 127\.0\.0\.11$/m, 'still the embedded resolver, which forwards to the gateway');
  assert.match(conf, /^search red\.admin$/m);
  assert.ok(has(await lookup('tuned', 'db1.red.admin'), dbIp), 'fully qualified');
  assert.ok(has(await lookup('tuned', 'db1'), dbIp), 'short name, through the search list');
  assert.ok(!has(await lookup('tuned', 'nobody.red.admin'), dbIp), 'an unknown name does not resolve (control)');
});
