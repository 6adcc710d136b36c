import type { MessagePort } from 'node:worker_threads';

/**
 * An item of a `postMessage()` transfer list (a `MessagePort`, an `ArrayBuffer`…), read from
 * `MessagePort.postMessage`'s own signature: @types/node 25 and earlier call it
 * `TransferListItem`, 26 and later `Transferable` (and its parameter also takes options there),
 * so naming either would break the other.
 */
export type TransferListItem = Extract<
  Parameters<MessagePort['postMessage']>[1],
  readonly unknown[]
>[number];
