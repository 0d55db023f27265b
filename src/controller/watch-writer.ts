/**
 * A watch stream's writer with a bound (issue 6, ADR 011): a watcher that does not read
 * is cut off instead of growing the controller's memory without limit. After each write,
 * if the response buffers more than `bound` bytes beyond what the initial sync left
 * buffered, it gets one `resync` line, the stream ends, and the socket is destroyed if it
 * has not drained within a second, so the buffer is freed at once. The client re-lists.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../base/logger.js';
import { bookmarkLine, resyncLine } from './watch-lines.js';

/** Default bound of a watch stream's buffer (app option watchBufferBytes). */
export const DEFAULT_WATCH_BUFFER_BYTES = 8 * 1024 * 1024;
const DRAIN_GRACE_MS = 1_000;

export class BoundedWriter {
  private baseline = 0;
  private sentSinceTick = false;
  closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly bound: number,
    private readonly log: Logger,
    /** The revision a bookmark or resync line carries. */
    private readonly revision: () => number,
  ) {}

  /** What is buffered now (the initial sync) does not count against the bound. */
  startBound(): void {
    this.baseline = this.res.writableLength;
  }

  /** `bounded` false: the initial sync, which the bound does not apply to. */
  write(lines: readonly string[], bounded = true): void {
    if (this.closed) return;
    this.res.cork();
    for (const line of lines) this.res.write(line);
    this.res.uncork();
    this.sentSinceTick = true;
    const behind = this.res.writableLength - this.baseline;
    if (bounded && behind > this.bound) this.cut(`the watcher fell behind by more than ${this.bound} bytes`, behind);
  }

  /** Called every bookmark interval: a bookmark line when nothing else was sent. */
  tick(): void {
    if (!this.sentSinceTick) this.write([bookmarkLine(this.revision())]);
    this.sentSinceTick = false;
  }

  /** Ends the stream with a `resync` line; the client lists again. */
  cut(reason: string, bytes = this.res.writableLength): void {
    if (this.closed) return;
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
