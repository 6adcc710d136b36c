/**
 * The one error class of @managers. Every error the library makes comes from
 * {@link createManagerError}, so codes and messages live in one place.
 *
 * Recognise errors by `name` / `code` (see {@link isManagerError}), not by
 * `instanceof` alone: errors that cross threads are rebuilt in another realm.
 */

/** Every error code the library uses, with what it means. */
export const ErrorCode = {
  /** The manager was shut down, its server crashed, or the connection closed. */
  ManagerClosed: 'ERR_MANAGER_CLOSED',
  /** The method is not in the typeid's exposed list. */
  NotExposed: 'ERR_NOT_EXPOSED',
  /** No typeid of that name is registered. */
  UnknownTypeid: 'ERR_UNKNOWN_TYPEID',
  /** The proxy was released; it can make no more calls. */
  ProxyReleased: 'ERR_PROXY_RELEASED',
  /** A value could not be sent between threads (structured clone failed). */
  Unserializable: 'ERR_UNSERIALIZABLE',
  /** A call did not get its reply within its timeout. */
  Timeout: 'ERR_TIMEOUT',
  /** A call was aborted through its AbortSignal. */
  Aborted: 'ERR_ABORTED',
  /** A message on the wire did not match the protocol. */
  BadMessage: 'ERR_BAD_MESSAGE',
  /** No object of that id is in the table. */
  UnknownId: 'ERR_UNKNOWN_ID',
  /** The holder holds no reference to that id. */
  UnknownHolder: 'ERR_UNKNOWN_HOLDER',
  /** An option or argument given by the caller is invalid. */
  InvalidOption: 'ERR_INVALID_OPTION',
  /** `start()` on a manager that is already started (or was shut down). */
  AlreadyStarted: 'ERR_ALREADY_STARTED',
  /** The server worker failed to start (module load or initializer failed). */
  StartFailed: 'ERR_START_FAILED',
  /** The table's invariants do not hold (a bug: please report it). */
  Inconsistent: 'ERR_INCONSISTENT',
  /** A hosted method threw an error that has no `code` of its own. */
  Remote: 'ERR_REMOTE',
  /** The operation is only allowed on the manager that started the server. */
  NotOwner: 'ERR_NOT_OWNER',
  /** A borrowed proxy reached a thread with no connection to its manager (the pool retries with one). */
  NotConnected: 'ERR_NOT_CONNECTED',
  /** A call's arguments or a reply's value are larger than the manager's `maxMessageSize`. */
  MessageTooLarge: 'ERR_MESSAGE_TOO_LARGE',
  /** A synchronous call from the server thread of its own manager: it could never be answered. */
  WouldDeadlock: 'ERR_WOULD_DEADLOCK',
  /**
   * A proxy was posted as it is (raw `workerData`, `port.postMessage`): it must be handed off
   * with `createWorker`, `postMessage` or `encode` from @managers/core.
   */
  ProxyNotEncoded: 'ERR_PROXY_NOT_ENCODED',
  /** A socket's peer did not prove it knows the manager's authkey (or this side could not). */
  Authentication: 'ERR_AUTHENTICATION',
  /** The operation is not possible over this kind of connection (a socket cannot carry a port). */
  NotSupported: 'ERR_NOT_SUPPORTED',
} as const;

/** One of the string codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options accepted by {@link ManagerError}. */
export interface ManagerErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Extra structured details (typeid, id, method, option …) for programs. */
  details?: Readonly<Record<string, unknown>>;
}

/** The base class of every error raised by @managers. */
export class ManagerError extends Error {
  /** A stable string code, one of {@link ErrorCode} (or a hosted error's own code). */
  readonly code: string;
  /** Structured details: the typeid, id, method or option the error is about. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: ManagerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

Object.defineProperty(ManagerError.prototype, 'name', {
  value: 'ManagerError',
  writable: true,
  configurable: true,
  enumerable: false,
});

/** Makes a {@link ManagerError}; the only place errors of the library are made. */
export function createManagerError(
  code: ErrorCode,
  message: string,
  options?: ManagerErrorOptions,
): ManagerError {
  return new ManagerError(code, message, options);
}

/**
 * True when `value` looks like an error of this library (by `name` and `code`),
 * whichever realm or thread it was made in. With `code`, also checks the code.
 */
export function isManagerError(value: unknown, code?: ErrorCode): value is ManagerError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  if (candidate.name !== 'ManagerError' || typeof candidate.code !== 'string') return false;
  return code === undefined || candidate.code === code;
}

/** Errors whose stack already got a caller's frames (an error may be shared by several calls). */
const withFrames = new WeakSet<object>();

/**
 * Adds the caller's frames to the stack of a call's error, as Node's own async APIs do: the
 * error was made where the reply arrived (a port's message handler), whose stack holds no frame
 * of the code that made the call. An Error created here, in a reaction to the call's promise
 * that the caller awaits, gets V8's async stack trace: `at async caller (file:line)` frames.
 */
export function withCallerStack(error: unknown): never {
  if (
    typeof error === 'object' &&
    error !== null &&
    !withFrames.has(error) &&
    typeof (error as Error).stack === 'string'
  ) {
    withFrames.add(error);
    const callers = new Error().stack?.split('\n').slice(2) ?? [];
    if (callers.length) (error as Error).stack += `\n${callers.join('\n')}`;
  }
  throw error;
}
