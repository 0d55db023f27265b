/**
 * The reading of the kernel's DHCP flood counter (dhcp-flood.ts) without a kernel: one `nft`
 * per tenant namespace per poll, rises summed per tenant, a table reload (counter back to a
 * lower value) counted as new drops, a missing namespace counted as nothing, and the warn
 * line bounded to one per tenant per interval. The kernel test is test/e2e/dhcp.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger, type Logger } from '../base/logger.js';
import { RecordingRunner } from '../datapath/runner.js';
import { DhcpFloodWatch, floodCounterPackets } from './dhcp-flood.js';

const listing = (packets: number) => JSON.stringify({ nftables: [{ metainfo: {} }, { counter: { family: 'bridge', name: 'dhcp-flood', table: 'tenet', packets, bytes: packets * 342 } }] });

function recordingLogger(lines: object[]): Logger {
  return { ...silentLogger, warn: (obj: object) => void lines.push(obj), child: () => recordingLogger(lines) };
}

describe('DhcpFloodWatch', () => {
  it('parses the named counter and nothing else', () => {
    assert.equal(floodCounterPackets(listing(7)), 7);
    assert.equal(floodCounterPackets('{"nftables":[{"counter":{"name":"other","table":"tenet","packets":3}}]}'), undefined);
    assert.equal(floodCounterPackets('not json'), undefined);
  });

  it('sums rises per tenant, counts a reset counter as new drops, and logs at a bounded rate', async () => {
    const values: Record<string, number[]> = { 'h-acme': [0, 40, 50, 5], 'h-other': [] };
    const runner = new RecordingRunner((argv) => {
      const ns = argv[1]!.split('/').pop()!;
      const next = values[ns]!.shift();
      return next === undefined ? { code: 1, stdout: '', stderr: 'No such file or directory' } : { code: 0, stdout: listing(next), stderr: '' };
    });
    const lines: object[] = [];
    let now = 0;
    const watch = new DhcpFloodWatch({ runner, logger: recordingLogger(lines), tenants: () => [{ tenant: 'acme', ns: 'h-acme' }, { tenant: 'other', ns: 'h-other' }], logEveryMs: 1_000, now: () => now });
    await watch.poll(); // 0: nothing dropped yet
    assert.equal(watch.total, 0);
    now = 10;
    await watch.poll(); // 40
    now = 20;
    await watch.poll(); // 50: within the log interval, counted but not logged
    now = 5_000;
    await watch.poll(); // 5: the table was reloaded
    assert.deepEqual([...watch.dropped], [['acme', 55]]);
    assert.equal(runner.calls.length, 8, 'one nft per namespace per poll');
    assert.deepEqual(runner.calls[0]!.argv.slice(2), ['nft', '-j', 'list', 'counter', 'bridge', 'tenet', 'dhcp-flood']);
    assert.deepEqual(lines, [
      { tenant: 'acme', dropped: 40, total: 40 },
      { tenant: 'acme', dropped: 15, total: 55 },
    ]);
  });
});
