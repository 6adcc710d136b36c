import { inspect } from 'node:util';
import { createManagerError, ErrorCode, ManagerError } from '@managers/refcount';
import { isLargerThan } from './message-size';
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
  const isError = Object.prototype.toString.call(error) === '[object Error]';
  const envelope: ErrorEnvelope = {
    name: typeof source.name === 'string' ? source.name : 'Error',
    message:
      typeof source.message === 'string'
        ? source.message
        : isError
          ? safeString(source.message)
          : // A thrown plain object (`throw { reason }`): say what it was; its fields follow.
            `non-error thrown: ${describeThrown(error)}`,
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
  // An AggregateError's (or any list of errors') `errors` cross as errors; any other
  // `errors` (a validation library's map of fields) as a property like the others.
  const errors = (source as { errors?: unknown }).errors;
  const aggregated =
    Array.isArray(errors) &&
    depth < MAX_CAUSE_DEPTH &&
    (envelope.name === 'AggregateError' || (errors.length > 0 && errors.every(isErrorObject)));
  if (aggregated) {
    envelope.errors = (errors as unknown[])
      .slice(0, MAX_AGGREGATED)
      .map((each) => toErrorEnvelope(each, undefined, depth + 1));
  }
  const props = ownProperties(source, aggregated);
  if (props !== undefined) envelope.props = props;
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
  if (envelope.props !== undefined) {
    for (const [key, value] of Object.entries(envelope.props)) {
      // What the rebuilt error has already (name, message, code, details…) stays as it is.
      if (!(key in error)) (error as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (envelope.errors !== undefined) {
    // As on an AggregateError: own, not enumerable.
    Object.defineProperty(error, 'errors', {
      value: envelope.errors.map(fromErrorEnvelope),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
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

/** The envelope's own fields: not copied again among an error's other properties. */
const ENVELOPE_FIELDS = new Set(['name', 'message', 'code', 'stack', 'cause', 'details']);
/** At most this many errors of an AggregateError cross. */
const MAX_AGGREGATED = 100;
/** At most this many other properties of one error cross… */
const MAX_PROPERTIES = 64;
/**
 * …each at most this large (estimated): an error is a message, not a carrier of data, and a
 * large field would make its reply fail for size or copy slowly in the server thread.
 */
const MAX_PROPERTY_BYTES = 64 * 1024;

function isErrorObject(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Error]';
}

/**
 * An error's other own enumerable properties (a system error's errno, syscall and path, a
 * custom error's fields), each kept if it is small and structured clone copies it.
 */
function ownProperties(source: object, errorsTaken: boolean): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  let keys: string[];
  try {
    keys = Object.keys(source);
  } catch {
    return undefined;
  }
  let kept = 0;
  for (const key of keys) {
    if (ENVELOPE_FIELDS.has(key) || (errorsTaken && key === 'errors')) continue;
    if (kept === MAX_PROPERTIES) break;
    try {
      const value = (source as Record<string, unknown>)[key];
      if (typeof value === 'function' || typeof value === 'symbol') continue;
      if (isLargerThan([value], MAX_PROPERTY_BYTES)) continue;
      (props ??= {})[key] = structuredClone(value);
      kept++;
    } catch {
      // A getter that throws, or a value structured clone refuses: left out.
    }
  }
  return props;
}

/** A thrown non-error object, shortly (its fields also travel as properties). */
function describeThrown(value: object): string {
  try {
    const text = inspect(value, { depth: 2, breakLength: Infinity });
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  } catch {
    return '<unprintable>';
  }
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
