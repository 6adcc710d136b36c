import { createManagerError, ErrorCode, ManagerError } from '@managers/refcount';
import type { ErrorEnvelope } from './protocol';

const MAX_CAUSE_DEPTH = 8;

/** Describes `error` (any thrown value) as a plain, cloneable envelope, with its cause chain. */
export function toErrorEnvelope(
  error: unknown,
  details?: Record<string, unknown>,
  depth = 0,
): ErrorEnvelope {
  if (typeof error !== 'object' || error === null) {
    return { name: 'Error', message: `non-error thrown: ${safeString(error)}`, details };
  }
  const source = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    stack?: unknown;
    cause?: unknown;
    details?: unknown;
  };
  const envelope: ErrorEnvelope = {
    name: typeof source.name === 'string' ? source.name : 'Error',
    message: typeof source.message === 'string' ? source.message : safeString(source.message),
  };
  if (typeof source.code === 'string' || typeof source.code === 'number')
    envelope.code = String(source.code);
  if (typeof source.stack === 'string') envelope.stack = source.stack;
  const ownDetails =
    typeof source.details === 'object' && source.details !== null
      ? cloneable(source.details)
      : undefined;
  if (ownDetails !== undefined || details !== undefined)
    envelope.details = { ...ownDetails, ...details };
  if (source.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    envelope.cause =
      typeof source.cause === 'object' && source.cause !== null
        ? toErrorEnvelope(source.cause, undefined, depth + 1)
        : { value: safeString(source.cause) };
  }
  return envelope;
}

/** An error rebuilt from an envelope on the caller's side. */
export interface RebuiltError extends ManagerError {
  /** The stack where the error was thrown, in the server worker. */
  readonly remoteStack?: string;
}

/**
 * Rebuilds an error from its envelope: the same `name`, `message` and `code` (`ERR_REMOTE`
 * when the original had none), `remoteStack`, `details` (typeid, id, method) and cause chain.
 * The local `stack` shows where the caller awaited.
 */
export function fromErrorEnvelope(envelope: ErrorEnvelope): RebuiltError {
  const cause =
    envelope.cause === undefined
      ? undefined
      : 'value' in envelope.cause
        ? envelope.cause.value
        : fromErrorEnvelope(envelope.cause);
  const error = createManagerError(
    (envelope.code ?? ErrorCode.Remote) as ErrorCode,
    envelope.message,
    { cause, details: envelope.details ?? {} },
  ) as RebuiltError & { name: string; remoteStack?: string };
  if (envelope.name !== 'ManagerError') {
    Object.defineProperty(error, 'name', {
      value: envelope.name,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (envelope.stack !== undefined) {
    Object.defineProperty(error, 'remoteStack', {
      value: envelope.stack,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (typeof error.stack === 'string') {
    const firstLineEnd = error.stack.indexOf('\n');
    const localFrames = firstLineEnd === -1 ? '' : error.stack.slice(firstLineEnd);
    error.stack = `${envelope.name}: ${envelope.message}${localFrames}`;
  }
  return error;
}

function cloneable(value: object): Record<string, unknown> | undefined {
  try {
    return structuredClone(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '<unprintable>';
  }
}
