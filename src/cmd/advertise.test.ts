/**
 * `tenet controller --advertise-url`: the URL a replica registers (what `tenet status` and
 * other replicas show) and its host in the server certificate; a wrong one is refused with
 * one line before anything is written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControllerClient } from '../api/client.js';
import { silentLogger } from '../base/logger.js';
import type { TenetError } from '../model/errors.js';
import { parseAdvertiseUrl, registeredUrl } from './advertise.js';
import { startController } from './controller.js';
import { TENET_SCRIPT } from './version.js';

const dir = mkdtempSync(join(tmpdir(), 'tenet-advertise-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('--advertise-url', () => {
  it('takes https://HOST[:PORT] and refuses anything else with one line', () => {
    assert.deepEqual(parseAdvertiseUrl('https://ctl-a.example.net:7400/', '0.0.0.0:7400'), { url: 'https://ctl-a.example.net:7400', host: 'ctl-a.example.net' });
    assert.deepEqual(parseAdvertiseUrl('https://[fd00::1]:7400', '[::]:7400'), { url: 'https://[fd00::1]:7400', host: 'fd00::1' });
    assert.equal(parseAdvertiseUrl(undefined, ''), undefined);
    for (const bad of ['http://a:7400', 'ctl-a:7400', 'https://a:7400/v1', 'https://u:p@a:7400', 'https://a_b:7400', 'https://a:7400?x=1', 'https://a:99999']) {
      assert.throws(() => parseAdvertiseUrl(bad, '0.0.0.0:7400'), (e: TenetError) => e.code === 'BAD_REQUEST' && !e.message.includes('\n'), bad);
    }
    assert.throws(() => parseAdvertiseUrl('https://a:7400', ''), (e: TenetError) => /needs --listen/.test(e.message));
  });

  it('without it, a wildcard listen address registers the hostname, a specific one itself', () => {
    assert.equal(registeredUrl(undefined, { address: '0.0.0.0', family: 'IPv4', port: 7400 }), `https://${hostname()}:7400`);
    assert.equal(registeredUrl(undefined, { address: '::1', family: 'IPv6', port: 7400 }), 'https://[::1]:7400');
    assert.equal(registeredUrl('https://ctl-a:7400', { address: '0.0.0.0', family: 'IPv4', port: 7400 }), 'https://ctl-a:7400');
  });

  it('is what the replica registers, and its host is in the server certificate', async () => {
    const dataDir = join(dir, 'data');
    const socket = join(dir, 'c.sock');
    const ctl = await startController({ dataDir, socket, listen: '127.0.0.1:0', advertiseUrl: 'https://ctl-a.example.net:7400', leaderLeaseMs: 2000 }, silentLogger);
    const client = new ControllerClient(`unix:${socket}`);
    try {
      const status = await client.status();
      assert.deepEqual(status.controllers.map((c) => c.urls), [['https://ctl-a.example.net:7400', `unix:${socket}`]]);
      assert.match(ctl.url ?? '', /^https:\/\/127\.0\.0\.1:\d+$/, 'it still serves on the bound address');
      const cert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt')));
      assert.match(cert.subjectAltName ?? '', /DNS:ctl-a\.example\.net/);
    } finally {
      client.close();
      await ctl.close();
    }
  });

  it('a wrong one stops `tenet controller` with one line, before anything is written', () => {
    const dataDir = join(dir, 'refused');
    const r = spawnSync(process.execPath, [TENET_SCRIPT, 'controller', '--data-dir', dataDir, '--socket', join(dir, 'r.sock'), '--listen', '127.0.0.1:0', '--advertise-url', 'http://ctl-a:7400'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /invalid --advertise-url "http:\/\/ctl-a:7400"/);
    assert.equal(existsSync(dataDir), false, 'nothing written');
    // Positive control: the same flags with a valid URL are not refused by this check.
    assert.doesNotThrow(() => parseAdvertiseUrl('https://ctl-a:7400', '127.0.0.1:0'));
  });
});
