/**
 * The session switch and which commands a session takes over (no kernel needed); the sessions
 * themselves are tested on the kernel (nft-session.kernel.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nftSessionsEnabled, tenantNftNamespace } from './nft-session.js';

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
