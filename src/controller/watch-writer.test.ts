/**
 * The initial sync is paced by the socket: one chunk at a time, the next only after a drain,
 * and live lines that arrive meanwhile follow the view in order (or cut the stream when they
 * pass the bound). A fake response stands for the socket here; watch-slow.test.ts checks the
 * bound against a real one.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { BoundedWriter, SYNC_CHUNK_BYTES } from './watch-writer.js';

/** A response whose buffer "fills" on every write until drain() is called. */
class FakeResponse extends EventEmitter {
  readonly written: string[] = [];
  writableLength = 0;
  ended = false;
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return false;
  }
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  cork(): void {}
  uncork(): void {}
  end(): void {
    this.ended = true;
  }
  destroy(): void {}
}

const tick = () => new Promise((r) => setImmediate(r));
const view = (n: number) => Array.from({ length: n }, (_, i) => `${JSON.stringify({ type: 'put', i, pad: 'x'.repeat(200) })}\n`);

test('watch writer: the view goes out one chunk per drain, and live lines follow it in order', async () => {
  const res = new FakeResponse();
  const writer = new BoundedWriter(res as unknown as ServerResponse, 1 << 20, silentLogger, () => 7);
  const lines = view(5000); // ~1.1 MB: several chunks
  const done = writer.writeInitial(lines);
  await tick();
  assert.equal(res.written.length, 1, 'one chunk until the socket drains');
  assert.ok(res.written[0]!.length <= SYNC_CHUNK_BYTES + 300);
  writer.write(['live-1\n']);
  writer.tick(); // no bookmark in the middle of the view
  let finished = false;
  void done.then(() => (finished = true));
  for (let i = 0; i < 100 && !finished; i++) {
    res.drain();
    await tick();
  }
  assert.equal(finished, true, 'the view was written');
  writer.write(['live-2\n']);
  assert.equal(res.written.join(''), lines.join('') + 'live-1\nlive-2\n');
});

test('watch writer: live lines held behind a view that does not drain cut the stream at the bound', async () => {
  const res = new FakeResponse();
  const writer = new BoundedWriter(res as unknown as ServerResponse, 1000, silentLogger, () => 9);
  const done = writer.writeInitial(view(5000));
  await tick();
  writer.write(['x'.repeat(400) + '\n']);
  assert.equal(writer.closed, false, 'under the bound: held');
  writer.write(['y'.repeat(700) + '\n']);
  assert.equal(writer.closed, true, 'over the bound: cut off');
  assert.match(res.written.at(-1)!, /"type":"resync"/);
  res.emit('close');
  await done;
  assert.equal(res.ended, true);
});
