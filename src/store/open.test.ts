/** The controller's --store and --etcd-* flags: each bad piece is one line naming it and the fix. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseStoreFlags, type StoreFlags } from './open.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-open-'));
const pem = join(dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const notPem = join(dir, 'notes.txt');
writeFileSync(notPem, 'hello');
after(() => rmSync(dir, { recursive: true, force: true }));

const parse = (flags: Omit<StoreFlags, 'dataDir'>) => parseStoreFlags({ dataDir: '/var/lib/tenet', ...flags });

function refused(flags: Omit<StoreFlags, 'dataDir'>, pattern: RegExp): void {
  assert.throws(() => parse(flags), (err: any) => {
    assert.equal(err.code, 'STORE_CONFIG_INVALID');
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

describe('--store', () => {
  it('is SQLite in the data dir by default and with sqlite', () => {
    assert.deepEqual(parse({}), { backend: 'sqlite', dataDir: '/var/lib/tenet' });
    assert.deepEqual(parse({ store: 'sqlite' }), { backend: 'sqlite', dataDir: '/var/lib/tenet' });
  });

  it('takes a list of etcd members, plain or with TLS', () => {
    const plain = parse({ store: 'etcd://10.0.0.1:2379,etcd-b.example:2379,[fd00::1]:2379' });
    assert.ok(plain.backend === 'etcd');
    assert.deepEqual(plain.conn.endpoints, ['http://10.0.0.1:2379', 'http://etcd-b.example:2379', 'http://[fd00::1]:2379']);
    assert.equal(plain.conn.tls, undefined);
    const tls = parse({ store: 'etcd://10.0.0.1:2379', etcdCa: pem, etcdCert: pem, etcdKey: pem });
    assert.ok(tls.backend === 'etcd' && tls.conn.tls?.cert);
    assert.deepEqual([tls.url, tls.conn.endpoints], ['etcds://10.0.0.1:2379', ['https://10.0.0.1:2379']]);
    const etcds = parse({ store: 'etcds://10.0.0.1:2379', etcdCa: pem });
    assert.ok(etcds.backend === 'etcd' && etcds.conn.tls && !etcds.conn.tls.cert);
  });

  it('refuses each bad piece with one line naming it', () => {
    refused({ store: 'mysql://db:3306' }, /--store mysql:\/\/db:3306 is neither sqlite nor an etcd address: use --store sqlite/);
    refused({ store: 'etcd://10.0.0.1' }, /member 10\.0\.0\.1 has no valid port/);
    refused({ store: 'etcd://10.0.0.1:2379,10.0.0.2:99999' }, /member 10\.0\.0\.2:99999 has no valid port/);
    refused({ store: 'etcd://10.0.0.1:2379,' }, /empty etcd address/);
    refused({ store: 'etcd://bad_host!:2379' }, /invalid host bad_host!/);
    refused({ store: 'etcd://fd00::1:2379' }, /invalid host fd00::1.*brackets/);
    refused({ store: 'etcds://10.0.0.1:2379' }, /needs --etcd-ca FILE/);
    refused({ store: 'etcd://10.0.0.1:2379', etcdCa: pem, etcdCert: pem }, /--etcd-cert and --etcd-key go together/);
    refused({ store: 'etcd://10.0.0.1:2379', etcdCa: join(dir, 'missing.pem') }, /cannot read --etcd-ca .*missing\.pem: ENOENT/);
    refused({ store: 'etcd://10.0.0.1:2379', etcdCa: notPem }, /cannot read --etcd-ca .*notes\.txt: not a PEM file/);
    refused({ etcdCa: pem }, /--etcd-ca only applies to an etcd store/);
  });
});
