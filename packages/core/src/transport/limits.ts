/**
 * The largest frame a socket accepts, for a manager whose `maxMessageSize` is `maxMessageSize`:
 * that size is an estimate (strings at 2 bytes a character, buffers at their length) and the
 * serialized form adds tags and lengths, so the frame limit leaves room for both. A frame
 * beyond it is not a message an honest peer sends: it closes the socket.
 */
export function frameLimit(maxMessageSize: number): number {
  return Math.min(2 ** 32 - 1, Math.ceil(maxMessageSize * 1.5) + 65_536);
}

/** Default: a silent peer is dropped after 10 s (heartbeats every 2.5 s). */
export const DEFAULT_HEARTBEAT_TIMEOUT = 10_000;
/** Default: a socket must pass the authkey handshake within 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** Default export lease: an exported proxy not imported within 60 s is released. */
export const DEFAULT_EXPORT_LEASE = 60_000;
