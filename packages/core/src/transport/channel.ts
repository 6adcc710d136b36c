import type { TransferListItem } from '@managers/proxy';

/**
 * The transport under the protocol: one ordered, reliable, message-oriented duplex between a
 * client connection and the server. A `MessagePort` is one as it is (in-process threads); a
 * {@link SocketChannel} is the other (processes and machines, over TCP, TLS or a Unix socket).
 * The protocol above (client-connection.ts, server/) sees only this surface.
 */
export interface Channel {
  /**
   * Sends one message. Throws synchronously when `value` cannot be serialized (structured
   * clone's `DataCloneError`, or a MessagePort on a socket), so a caller can fall back to
   * sending what can be sent.
   */
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  /** Closes the channel; the other end sees `close`. Idempotent. */
  close(): void;
  on(event: 'message', listener: (value: unknown) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'close', listener: () => void): this;
  /** Starts delivering messages (a MessagePort queues them until then). */
  start(): void;
  /** Keeps the process alive while this channel is open (while calls are pending). */
  ref(): void;
  /** Lets the process exit even though this channel is open. */
  unref(): void;
}

/** A channel that crosses a process boundary: it carries values, never ports or shared memory. */
export const remoteChannelSymbol = Symbol.for('@managers/core/remote-channel');

/** True for a channel over a socket (values only: no MessagePort, no SharedArrayBuffer). */
export function isRemoteChannel(channel: Channel): boolean {
  return (channel as { [remoteChannelSymbol]?: boolean })[remoteChannelSymbol] === true;
}
