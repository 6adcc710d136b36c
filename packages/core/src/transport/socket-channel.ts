import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { decodePayload, encodeFrame, JSON_KIND } from './codec';
import type { TransferListItem } from '@managers/proxy';
import { remoteChannelSymbol, type Channel } from './channel';
import { FRAME_HEADER_BYTES, FrameError, FrameReader, HEARTBEAT_FRAME } from './frames';
import { MAX_TIMER_DELAY } from '../timer';

/** Options of a {@link SocketChannel}. */
export interface SocketChannelOptions {
  /** The largest frame accepted or sent, in bytes: a larger one closes the socket. */
  readonly maxFrameBytes: number;
  /**
   * A peer silent for this long (no message, no heartbeat) is taken for dead and the socket is
   * closed (0: never). Heartbeats are sent when this side has been silent for a quarter of it.
   */
  readonly heartbeatTimeout: number;
  /** Bytes that arrived with the end of the handshake (the start of the first frame). */
  readonly initial?: Buffer;
}

/**
 * A {@link Channel} over an authenticated stream socket (TCP, TLS or a Unix domain socket):
 * each message is one length-prefixed frame holding the value serialized with `node:v8` (the
 * structured-clone format ports use). Values only: a MessagePort or a SharedArrayBuffer cannot
 * cross a process, and posting one throws as an uncloneable value does.
 *
 * A frame that is too long, or that does not deserialize, closes this socket only. A peer that
 * stops answering heartbeats (a killed or partitioned process) is closed after
 * `heartbeatTimeout`; a socket the peer's kernel closed (a SIGKILL) closes at once.
 */
export class SocketChannel extends EventEmitter implements Channel {
  readonly [remoteChannelSymbol] = true;
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  #maxFrameBytes: number;
  #closed = false;
  #started = false;
  #queued: unknown[] = [];
  #lastReceived = Date.now();
  /** When the heartbeat timer last ran (to tell a stall of this thread from a silent peer). */
  #lastBeat = Date.now();
  #sentSinceBeat = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** When writes backed up past the high-water mark (0: they did not); reading is paused. */
  #backedUpSince = 0;
  #backedUpLength = 0;
  /** Why the channel closed, when this side closed it (a bad frame, a silent peer). */
  closeReason: string | undefined;

  constructor(socket: Socket, options: SocketChannelOptions) {
    super();
    this.#socket = socket;
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#reader = new FrameReader(options.maxFrameBytes, (payload) => this.#onFrame(payload));
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#onClosed());
    this.setHeartbeat(options.heartbeatTimeout);
    if (options.initial !== undefined && options.initial.length > 0) this.#onData(options.initial);
    socket.resume();
  }

  /**
   * Sets the largest frame this side sends and the largest it accepts (a client learns the
   * server's limit from its welcome: it sends within both sides' limits, and accepts what the
   * server may send).
   */
  setFrameLimits(send: number, receive: number): void {
    this.#maxFrameBytes = send;
    this.#reader.maxFrameBytes = receive;
  }

  /**
   * Sets how long the peer may stay silent (0 or Infinity: forever); heartbeats go at a quarter
   * of it.
   */
  setHeartbeat(timeout: number): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    // Infinity, like 0, is forever (an interval of Infinity would run every millisecond).
    if (!(timeout > 0) || timeout === Infinity || this.#closed) return;
    this.#lastReceived = this.#lastBeat = Date.now();
    this.#heartbeat = setInterval(
      () => this.#beat(timeout),
      Math.min(MAX_TIMER_DELAY, Math.max(10, timeout / 4)),
    );
    this.#heartbeat.unref();
  }

  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void {
    if (this.#closed) return;
    this.postFrame(frameOf(value, transferList, this.#maxFrameBytes));
  }

  /** Sends a frame made by {@link frameOf} (a message encoded ahead of time). */
  postFrame(frame: Buffer): void {
    if (this.#closed) return;
    this.#sentSinceBeat = true;
    const socket = this.#socket;
    socket.write(frame);
    if (this.#backedUpSince === 0 && socket.writableLength > WRITE_HIGH_WATER) {
      // The peer reads slower than it asks (or not at all): stop reading its requests until
      // what we owe it has drained, so that what a peer can make us buffer stays bounded.
      this.#backedUpSince = Date.now();
      this.#backedUpLength = socket.writableLength;
      socket.pause();
      socket.once('drain', () => {
        this.#backedUpSince = 0;
        this.#lastReceived = Date.now();
        if (!this.#closed) socket.resume();
      });
    }
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const queued = this.#queued;
    this.#queued = [];
    for (const message of queued) {
      if (this.#closed) return;
      this.emit('message', message);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#socket.end();
    // A peer that does not close its side in time is cut off.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#onClosed();
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  /** Closes the socket at once, recording why. */
  destroy(reason: string): void {
    this.closeReason ??= reason;
    this.#socket.destroy();
    this.#onClosed();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#lastReceived = Date.now();
    try {
      this.#reader.push(chunk);
    } catch (error) {
      this.destroy(
        error instanceof FrameError ? error.message : `bad frame: ${(error as Error).message}`,
      );
    }
  }

  #onFrame(payload: Buffer): void {
    if (this.#closed || payload.length === 0) return; // a heartbeat
    // An exception here (a payload that is not a serialized value) propagates to #onData,
    // which closes this socket: nothing undecodable reaches the protocol.
    const message = decodePayload(payload);
    if (!this.#started) this.#queued.push(message);
    else this.emit('message', message);
  }

  #beat(timeout: number): void {
    if (this.#closed) return;
    const now = Date.now();
    const late = now - this.#lastBeat > timeout / 2;
    this.#lastBeat = now;
    if (this.#backedUpSince !== 0) {
      // Not reading (backpressure): the peer is judged by whether it reads what we sent.
      const owed = this.#socket.writableLength;
      if (owed < this.#backedUpLength) this.#backedUpSince = now; // it is reading, slowly
      this.#backedUpLength = owed;
      if (now - this.#backedUpSince > timeout)
        return this.destroy(`the peer read nothing of what it asked for in ${timeout} ms`);
    } else if (late) {
      // This thread was blocked (a long synchronous call): the peer's heartbeats may be
      // waiting unread in the socket. Silence is measured from now, not from before the stall.
      this.#lastReceived = now;
    } else if (now - this.#lastReceived > timeout) {
      // Timers run before pending input is read: look again after this turn's I/O (a
      // setImmediate runs after the poll phase), so a heartbeat already received counts.
      setImmediate(() => {
        if (!this.#closed && Date.now() - this.#lastReceived > timeout)
          this.destroy(`the peer sent nothing (not even a heartbeat) for ${timeout} ms`);
      });
    }
    if (!this.#sentSinceBeat) this.#socket.write(HEARTBEAT_FRAME);
    this.#sentSinceBeat = false;
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#queued = [];
    this.emit('close');
  }
}

/** Bytes of replies a socket may owe its peer before the server stops reading its requests. */
const WRITE_HIGH_WATER = 8 * 1024 * 1024;

/**
 * Encodes one message as a frame for a socket. Throws a `DataCloneError` (as a port's
 * `postMessage` does for an uncloneable value) for a MessagePort or anything else that cannot
 * cross a process, or for a message larger than the frame limit.
 */
export function frameOf(
  value: unknown,
  transferList: readonly TransferListItem[] | undefined,
  maxFrameBytes: number,
): Buffer {
  if (transferList !== undefined) {
    for (const item of transferList) {
      if (!(item instanceof ArrayBuffer)) {
        throw new DOMException(
          'a MessagePort cannot be sent to another process (over a socket)',
          'DataCloneError',
        );
      }
    }
  }
  let frame = encodeFrame(value);
  if (frame.length - FRAME_HEADER_BYTES > maxFrameBytes && frame[FRAME_HEADER_BYTES] === JSON_KIND)
    frame = encodeFrame(value, true);
  if (frame.length - FRAME_HEADER_BYTES > maxFrameBytes) {
    throw new DOMException(
      `the message is ${frame.length - FRAME_HEADER_BYTES} bytes, larger than the socket's frame limit of ${maxFrameBytes}`,
      'DataCloneError',
    );
  }
  return frame;
}
