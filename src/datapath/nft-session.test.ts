/**
 * The session switch and which commands a session takes over (no kernel needed); the sessions
 * themselves are tested on the kernel (nft-session.kernel.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NftSessionRunner, nftSessionsEnabled, tenantNftNamespace } from './nft-session.js';

describe('nft sessions: switch and scope', () => {
  it('are on unless TENET_NFT_SESSION=0', () => {
    assert.equal(nftSessionsEnabled({}), true);
    assert.equal(nftSessionsEnabled({ TENET_NFT_SESSION: '1' }), true);
    assert.equal(nftSessionsEnabled({ TENET_NFT_SESSION: '0' }), false);
  });

  it('take over nft -f - in a /run/netns namespace, nothing else', () => {
    assert.equal(tenantNftNamespace(['nsenter', '--net=/run/netns/t1-acme', 'nft', '-f', '-']), 't1-acme');
    assert.equal(tenantNftNamespace(['nsenter', '--net=/proc/7/ns/net', 'nft', '-f', '-']), undefined, 'a workload namespace by PID');
    assert.equal(tenantNftNamespace(['nsenter', '--net=/run/netns/../x', 'nft', '-f', '-']), undefined);
    assert.equal(tenantNftNamespace(['nsenter', '--net=/run/netns/..', 'nft', '-f', '-']), undefined);
    assert.equal(tenantNftNamespace(['nsenter', '--net=/run/netns/a', 'nft', '-j', 'list', 'ruleset']), undefined);
    assert.equal(tenantNftNamespace(['nft', '-f', '-']), undefined, 'the host namespace (port-map) stays on nft -f');
  });
});

describe('nft sessions: script directories', () => {
  it("a new runner removes the directory of a process that is gone, never a live one's", async () => {
    const gone = spawnSync('true').pid!; // exited: its pid is free (or reused by then: the check is by life, not by name)
    const dead = mkdtempSync(join(tmpdir(), `tenet-nft-${gone}-`));
    writeFileSync(join(dead, 'x.nft'), 'flush ruleset\n');
    const live = mkdtempSync(join(tmpdir(), `tenet-nft-${process.pid}-`));
    const runner = new NftSessionRunner();
    try {
      assert.ok(existsSync(live), 'positive control: the live process keeps its directory');
      assert.equal(existsSync(dead), false, "the gone process's directory is removed");
    } finally {
      await runner.close();
      rmSync(live, { recursive: true, force: true });
    }
  });
});
