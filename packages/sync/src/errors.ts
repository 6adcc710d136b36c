import { ManagerError } from '@managers/core';
import { hostedValueSymbol } from '@managers/proxy';

/**
 * The error codes of @managers/sync (errors are `ManagerError`s: recognise them by `code`).
 * Python's exception types map to codes: `queue.Empty` → `ERR_QUEUE_EMPTY`, `RuntimeError:
 * release unlocked lock` → `ERR_NOT_HELD`, `BrokenBarrierError` → `ERR_BROKEN_BARRIER`, …
 */
export const SyncErrorCode = {
  /** `get` found the queue empty (non-blocking, or after its timeout): Python's `queue.Empty`. */
  QueueEmpty: 'ERR_QUEUE_EMPTY',
  /** `put` found the queue full (non-blocking, or after its timeout): Python's `queue.Full`. */
  QueueFull: 'ERR_QUEUE_FULL',
  /** The queue was shut down (Python 3.13's `queue.ShutDown`). */
  QueueShutDown: 'ERR_QUEUE_SHUTDOWN',
  /** `taskDone()` called more times than items were put (Python's ValueError). */
  TaskDone: 'ERR_TASK_DONE',
  /** Release / wait / notify of a lock the caller does not hold (Python's RuntimeError). */
  NotHeld: 'ERR_NOT_HELD',
  /** A BoundedSemaphore released above its initial value (Python's ValueError). */
  OverRelease: 'ERR_OVER_RELEASE',
  /** The barrier is broken (timeout, abort, reset): Python's `BrokenBarrierError`. */
  BrokenBarrier: 'ERR_BROKEN_BARRIER',
  /** An index out of range (Python's IndexError). */
  IndexRange: 'ERR_INDEX_RANGE',
  /**
   * A slice assignment given a sequence of the wrong size: an extended slice (step other than
   * 1) of a List, or any slice of a fixed-length Array (Python's ValueError).
   */
  SliceSize: 'ERR_SLICE_SIZE',
  /** A missing Map key (Python's KeyError). */
  KeyNotFound: 'ERR_KEY_NOT_FOUND',
  /** A missing Namespace attribute (Python's AttributeError). */
  NoAttribute: 'ERR_NO_ATTRIBUTE',
  /** `List.remove` / `List.index` of a value that is not there (Python's ValueError). */
  ValueNotFound: 'ERR_VALUE_NOT_FOUND',
  /** No shared memory segment of that name (Python's FileNotFoundError). */
  SegmentNotFound: 'ERR_SEGMENT_NOT_FOUND',
  /** `SharedMemory({ create: true, name })` of a name in use (Python's FileExistsError). */
  SegmentExists: 'ERR_SEGMENT_EXISTS',
  /** A call from a thread the server already saw die (its locks were released). */
  OwnerDead: 'ERR_OWNER_DEAD',
  /** Bad argument: bad typecode, value of the wrong type, string too long, size 0, … */
  InvalidOption: 'ERR_INVALID_OPTION',
  /** A blocking call cancelled through its AbortSignal. */
  Aborted: 'ERR_ABORTED',
  /** `hold()` did not get the lock within its timeout. */
  Timeout: 'ERR_TIMEOUT',
  /** The object was disposed while the call waited. */
  Disposed: 'ERR_MANAGER_CLOSED',
  /** `getValue()` of an object with no value to copy (a lock, an event, a queue). */
  Unserializable: 'ERR_UNSERIALIZABLE',
} as const;

export type SyncErrorCode = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

/** Makes a ManagerError with a @managers/sync code. */
export function syncError(
  code: SyncErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ManagerError {
  return new ManagerError(code, message, details === undefined ? {} : { details });
}

/**
 * What `getValue(proxy)` of a synchronization object (a lock, an event, a queue) gives: an
 * error, as Python's `_getvalue()` cannot pickle one; its state lives in the server only.
 */
export function noValueToCopy(typeid: string): ManagerError {
  return new ManagerError(
    SyncErrorCode.Unserializable,
    `getValue(): a ${typeid} has no value to copy (its state lives in the server; Python's _getvalue() cannot pickle one either)`,
    { details: { typeid } },
  );
}

/**
 * Gives the instances of `types` a `[hostedValueSymbol]()` that throws {@link noValueToCopy}
 * (named by the object's typeid, else its class).
 */
export function refuseValueCopy(...types: (abstract new (...args: never[]) => object)[]): void {
  for (const type of types) {
    Object.defineProperty(type.prototype, hostedValueSymbol, {
      value(this: { typeid?: string }): never {
        throw noValueToCopy(this.typeid ?? this.constructor.name);
      },
      writable: true,
      configurable: true,
    });
  }
}
