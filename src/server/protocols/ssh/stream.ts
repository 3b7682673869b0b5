/**
 * The terminal byte stream of one SSH session channel, as the Duplex the broker sees:
 * readable = the channel's stdout and stderr (merged, in arrival order), writable = user input.
 *
 * Backpressure: when the consumer stops reading (push() returns false), both ssh2 readables are
 * paused; ssh2 then stops widening the SSH channel window once its own buffer is full, so the
 * asset stops sending. Memory per session stays bounded (our highWaterMark + ssh2's window).
 * Input is written with the channel's callback, so a slow asset holds back the writer too.
 */
import { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';

const READ_HIGH_WATER_MARK = 64 * 1024;
const WRITE_HIGH_WATER_MARK = 16 * 1024;

export class ChannelStream extends Duplex {
  private openSources = 2;
  private pendingWrite: (() => void) | undefined;
  private gone = false;

  constructor(
    private readonly channel: ClientChannel,
    /** Called when the consumer destroys the stream: the session is closed. */
    private readonly onDestroy: () => void,
    /** Bytes shown before the channel's output (the login banner of a shell). */
    prefix?: Buffer,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: READ_HIGH_WATER_MARK, writableHighWaterMark: WRITE_HIGH_WATER_MARK });
    if (prefix && prefix.length > 0) this.push(prefix);
    const forward = (chunk: Buffer): void => {
      if (this.destroyed) return;
      if (!this.push(chunk)) {
        channel.pause();
        channel.stderr.pause();
      }
    };
    const sourceEnded = (): void => {
      this.openSources -= 1;
      if (this.openSources === 0 && !this.destroyed) this.push(null);
    };
    channel.on('data', forward);
    channel.stderr.on('data', forward);
    channel.once('end', sourceEnded);
    channel.stderr.once('end', sourceEnded);
    // Connection-level failures are reported by the client; a channel error must not crash us.
    channel.on('error', () => {});
    channel.stderr.on('error', () => {});
  }

  override _read(): void {
    this.channel.resume();
    this.channel.stderr.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.gone || !this.channel.writable) {
      callback(); // the session is over: input is dropped, not an error
      return;
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.pendingWrite = undefined;
      callback();
    };
    this.pendingWrite = finish;
    this.channel.write(chunk, () => finish());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.gone && this.channel.writable) this.channel.end(); // EOF to the asset
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onDestroy();
    callback(error);
  }

  /** The connection is gone: release a write that waits for channel window that never comes. */
  markGone(): void {
    this.gone = true;
    this.pendingWrite?.();
  }
}
