import '@managers/refcount/polyfill';
import type * as Comlink from 'comlink';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { decode, encode, isProxy } from '@managers/core';
import { encodableSymbol } from '@managers/proxy';

/** The name of the Comlink transfer handler {@link installComlinkTransferHandler} installs. */
export const COMLINK_HANDLER_NAME = '@managers/proxy';

/** The part of the Comlink module the handler needs (pass your own copy if it differs from ours). */
export interface ComlinkLike {
  readonly transferHandlers: Map<string, Comlink.TransferHandler<unknown, unknown>>;
}

/**
 * Teaches Comlink to send @managers proxies and manager handles the way `postMessage` of
 * @managers does: handed off (R3), so that a proxy passed as an argument of a
 * Comlink-wrapped call (or returned by one) arrives as a manager proxy talking straight to
 * the server, not as a Comlink relay through the sender. Install it in every thread that
 * sends or receives proxies through Comlink (both ends). Idempotent.
 *
 * Comlink applies transfer handlers to each argument and to the return value as a whole,
 * not to values nested inside them: pass proxies as arguments (or return them) directly.
 *
 * `comlink` is the Comlink module to install into (default: the one this package resolves).
 */
export function installComlinkTransferHandler(comlink: ComlinkLike = defaultComlink()): void {
  comlink.transferHandlers.set(COMLINK_HANDLER_NAME, {
    canHandle: (value: unknown): value is unknown =>
      isProxy(value) ||
      (typeof value === 'object' &&
        value !== null &&
        (value as { [encodableSymbol]?: unknown })[encodableSymbol] === true),
    serialize: (value: unknown) => {
      const { value: encoded, transferList } = encode(value);
      return [encoded, transferList as never[]];
    },
    deserialize: (value: unknown) => decode(value),
  });
}

/** Removes the handler {@link installComlinkTransferHandler} installed. */
export function uninstallComlinkTransferHandler(comlink: ComlinkLike = defaultComlink()): void {
  comlink.transferHandlers.delete(COMLINK_HANDLER_NAME);
}

/** The Comlink module this package resolves (an optional peer dependency), loaded when first needed. */
function defaultComlink(): ComlinkLike {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('comlink') as ComlinkLike;
  } catch (error) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      "@managers/piscina/comlink needs the 'comlink' package (an optional peer dependency): npm install comlink, or pass your Comlink module",
      { cause: error, details: { option: 'comlink' } },
    );
  }
}
