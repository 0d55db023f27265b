/**
 * A watch stream's writer with a bound (issue 6, ADR 011): a watcher that does not read
 * is cut off instead of growing the controller's memory without limit. After each write,
 * if the response buffers more than `bound` bytes beyond what the initial sync left
 * buffered, it gets one `resync` line, the stream ends, and the socket is destroyed if it
 * has not drained within a second, so the buffer is freed at once. The client re-lists.
 *
 * The initial sync (a host's whole view, megabytes for a host in large tenants) is written
 * in chunks, each after the previous one drained: a thousand agents starting at once then
 * cost the controller a chunk each, not their whole views (measured: 2.2 GiB RSS with the
 * views buffered whole). Live lines that arrive meanwhile wait behind it, under the bound.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../base/logger.js';
import { bookmarkLine, resyncLine } from './watch-lines.js';

/** Default bound of a watch stream's buffer (app option watchBufferBytes). */
export const DEFAULT_WATCH_BUFFER_BYTES = 8 * 1024 * 1024;
const DRAIN_GRACE_MS = 1_000;
/** Bytes of the initial sync handed to the socket at a time. */
export const SYNC_CHUNK_BYTES = 256 * 1024;

export class BoundedWriter {
  private baseline = 0;
  private sentSinceTick = false;
  /** Live lines held back while the initial sync is written (undefined once it is). */
  private held?: { lines: string[]; bytes: number };
  closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly bound: number,
    private readonly log: Logger,
    /** The revision a bookmark or resync line carries. */
    private readonly revision: () => number,
  ) {}

  /**
   * Writes the initial sync chunk by chunk, each once the socket drained the one before;
   * live lines written meanwhile are held (under the bound) and follow it in order.
   */
  async writeInitial(lines: readonly string[]): Promise<void> {
    this.held = { lines: [], bytes: 0 };
    for (let i = 0; i < lines.length && !this.closed; ) {
      let chunk = '';
      while (i < lines.length && chunk.length < SYNC_CHUNK_BYTES) chunk += lines[i++];
      this.sentSinceTick = true;
      if (!this.res.write(chunk)) await this.drained();
    }
    if (this.closed || !this.held) return; // cut off while the view was being sent
    const held = this.held.lines;
    this.held = undefined;
    this.baseline = this.res.writableLength;
    if (held.length > 0) this.write(held);
  }

  write(lines: readonly string[]): void {
    if (this.closed) return;
    if (this.held) return this.hold(lines);
    this.res.cork();
    for (const line of lines) this.res.write(line);
    this.res.uncork();
    this.sentSinceTick = true;
    const behind = this.res.writableLength - this.baseline;
    if (behind > this.bound) this.cut(`the watcher fell behind by more than ${this.bound} bytes`, behind);
  }

  private hold(lines: readonly string[]): void {
    const held = this.held!;
    for (const line of lines) held.lines.push(line), (held.bytes += line.length);
    if (held.bytes > this.bound) this.cut(`the watcher fell behind by more than ${this.bound} bytes while its view was sent`, held.bytes);
  }

  /** Resolves when the socket drained, or when the stream ended. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done).off('close', done);
        resolve();
      };
      this.res.on('drain', done).on('close', done);
    });
  }

  /** Called every bookmark interval: a bookmark line when nothing else was sent. */
  tick(): void {
    if (!this.sentSinceTick && !this.held) this.write([bookmarkLine(this.revision())]);
    this.sentSinceTick = false;
  }

  /** Ends the stream with a `resync` line; the client lists again. */
  cut(reason: string, bytes = this.res.writableLength): void {
    if (this.closed) return;
    this.held = undefined;
    this.log.warn({ bytes, reason }, 'watch stream cut off; the client must re-list');
    this.res.write(resyncLine(this.revision(), reason));
    this.end();
    const timer = setTimeout(() => this.res.destroy(), DRAIN_GRACE_MS);
    timer.unref();
    this.res.once('finish', () => clearTimeout(timer));
    this.res.once('close', () => clearTimeout(timer));
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }
}
