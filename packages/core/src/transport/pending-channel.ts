import { EventEmitter } from 'node:events';
import type { TransferListItem } from '@managers/proxy';
import { remoteChannelSymbol, type Channel } from './channel';
import { frameOf, type SocketChannel } from './socket-channel';

/**
 * A socket {@link Channel} that is still connecting: what is posted meanwhile is encoded at once
 * (so an uncloneable value throws to its sender, as on any channel) and sent, in order, once
 * the socket is authenticated. A thread that receives a remote manager's proxy from another
 * thread gets its connection this way: `decode()` is synchronous, the socket is not.
 */
export class PendingChannel extends EventEmitter implements Channel {
  readonly [remoteChannelSymbol] = true;
  #channel: SocketChannel | undefined;
  #queue: Buffer[] = [];
  #closed = false;
  #started = false;
  #referenced = false;
  /** Why the channel closed (connecting failed, or the socket's own reason). */
  closeReason: string | undefined;

  constructor(
    opened: Promise<SocketChannel>,
    private readonly maxFrameBytes: number,
  ) {
    super();
    opened.then(
      (channel) => this.#attach(channel),
      (error: unknown) => {
        this.closeReason = (error as Error)?.message ?? String(error);
        this.#onClosed();
      },
    );
  }

  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void {
    if (this.#closed) return;
    if (this.#channel !== undefined) return this.#channel.postMessage(value, transferList);
    this.#queue.push(frameOf(value, transferList, this.maxFrameBytes));
  }

  start(): void {
    this.#started = true;
    this.#channel?.start();
  }

  close(): void {
    if (this.#closed) return;
    this.#channel?.close();
    this.#onClosed();
  }

  ref(): void {
    this.#referenced = true;
    this.#channel?.ref();
  }

  unref(): void {
    this.#referenced = false;
    this.#channel?.unref();
  }

  #attach(channel: SocketChannel): void {
    if (this.#closed) return channel.close();
    this.#channel = channel;
    channel.on('message', (message: unknown) => this.emit('message', message));
    channel.once('close', () => {
      this.closeReason ??= channel.closeReason;
      this.#onClosed();
    });
    for (const frame of this.#queue) channel.postFrame(frame);
    this.#queue = [];
    if (this.#referenced) channel.ref();
    else channel.unref();
    if (this.#started) channel.start();
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.emit('close');
  }
}
