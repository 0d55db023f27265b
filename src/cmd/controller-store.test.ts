/**
 * `tenet controller --store etcd://...` as a real process against real etcd members
 * (store/testing/etcd-server.ts): it serves on an etcd cluster over TLS with the right CA,
 * and each bad start is one line and a non-zero exit, within a bounded time: an address
 * where no etcd listens, a CA that did not sign the members' certificates, a store written
 * by another Tenet version, a malformed flag.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keys } from '../model/keys.js';
import { EtcdStore } from '../store/etcd.js';
import { freePort, startEtcd, type EtcdCluster } from '../store/testing/etcd-server.js';
import { TENET_SCRIPT } from './version.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-ctlstore-'));
let etcd: EtcdCluster;
let run = 0;

before(async () => {
  etcd = await startEtcd({ tls: true });
});

after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stderr: string;
  stdout: string;
}

/**
 * Starts a controller with `args`; resolves when it exits, or once it serves (then it is
 * stopped with SIGTERM and `served` is set).
 */
function controller(args: string[]): Promise<Outcome & { served: boolean }> {
  const n = run++;
  const p = spawn(process.execPath, [TENET_SCRIPT, 'controller', '--data-dir', join(dir, `data-${n}`), '--socket', join(dir, `ctl-${n}.sock`), ...args], {
    env: { ...process.env, TENET_STORE: undefined },
  });
  let stdout = '';
  let stderr = '';
  let served = false;
  p.stdout.on('data', (c: Buffer) => {
    stdout += c;
    if (!served && stdout.includes('controller serving API')) {
      served = true;
      p.kill('SIGTERM');
    }
  });
  p.stderr.on('data', (c: Buffer) => (stderr += c));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, stdout, stderr, served })));
}

function assertOneLine(out: Outcome, pattern: RegExp): void {
  assert.notEqual(out.code, 0, 'a failed start exits non-zero');
  const lines = out.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${out.stderr}`);
  assert.match(lines[0]!, pattern);
}

const tlsFlags = () => ['--etcd-ca', etcd.tls!.caPath, '--etcd-cert', etcd.tls!.certPath, '--etcd-key', etcd.tls!.keyPath];

describe('tenet controller --store etcd', () => {
  it('serves on etcd over TLS with the right CA and client certificate (the control)', async () => {
    const out = await controller(['--store', etcd.storeUrl, ...tlsFlags()]);
    assert.ok(out.served, `the controller did not serve: ${out.stderr}${out.stdout}`);
    assert.match(out.stdout, /"store":"etcds:\/\/127\.0\.0\.1:\d+"/);
  });

  it('refuses an address where no etcd listens, within a bounded time', async () => {
    const out = await controller(['--store', `etcd://127.0.0.1:${await freePort()}`]);
    assertOneLine(out, /^tenet: cannot reach the store at etcd:\/\/127\.0\.0\.1:\d+: .*: check --store, that etcd runs there/);
  });

  it('refuses a CA that did not sign the members\' certificates', async () => {
    const other = etcd.otherCa();
    const out = await controller(['--store', etcd.storeUrl, '--etcd-ca', other.caPath, '--etcd-cert', other.certPath, '--etcd-key', other.keyPath]);
    assertOneLine(out, /^tenet: cannot reach the store at etcds:\/\/127\.0\.0\.1:\d+: .*: check --store, that etcd runs there, and the --etcd-\* certificates/);
  });

  it('refuses a store written by another Tenet version', async () => {
    const conn = { endpoints: etcd.endpoints, tls: { ca: readFileSync(etcd.tls!.caPath), cert: readFileSync(etcd.tls!.certPath), key: readFileSync(etcd.tls!.keyPath) } };

    const old = new EtcdStore(conn);
    try {
      assert.equal((await old.create(`${keys.legacyIps()}net-1/10.0.0.5`, 'ep-1')).ok, true);
    } finally {
      await old.close();
    }
    const out = await controller(['--store', etcd.storeUrl, ...tlsFlags()]);
    assertOneLine(out, /^tenet: the store in etcds:\/\/127\.0\.0\.1:\d+ was written by a Tenet from before .* cannot be read: remove its endpoints/);
  });

  it('refuses a malformed --store before it writes anything', async () => {
    const out = await controller(['--store', 'etcd://127.0.0.1']);
    assertOneLine(out, /^tenet: --store member 127\.0\.0\.1 has no valid port/);
  });
});
