import { inspect } from 'node:util';
import { closestName, createManagerError, ErrorCode } from '@managers/refcount';
import type { CallOptions } from './token';

const CALL_OPTIONS = ['timeout', 'signal'];

/**
 * Checks per-call options (`withCallOptions`, `syncProxy`, `callMethod`) and throws an
 * `ERR_INVALID_OPTION` error naming the option: `timeout` a non-negative number of ms (0 and
 * Infinity: none), `signal` an AbortSignal, nothing else. `where` names the function (or
 * makes its name, for a caller on the path of every call).
 */
export function checkCallOptions(
  options: unknown,
  where: string | (() => string),
): asserts options is CallOptions {
  if (
    options === undefined ||
    (typeof options === 'object' && options !== null && checked.has(options))
  )
    return;
  const invalid = (option: string, problem: string, more?: Record<string, unknown>): never => {
    // A function for a label made per call: built only when there is something to say.
    const label = typeof where === 'function' ? where() : where;
    throw createManagerError(ErrorCode.InvalidOption, `${label}: ${problem}`, {
      details: { option, ...more },
    });
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    invalid(
      'options',
      `options must be an object such as { timeout: 1000 }, got ${inspect(options)}`,
    );
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (CALL_OPTIONS.includes(key)) continue;
    const suggestion = closestName(key, CALL_OPTIONS);
    invalid(
      'options',
      `unknown option '${key}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}: the call options are timeout and signal`,
      { unknown: key, suggestion },
    );
  }
  // null, like undefined, is "not given": the manager's default timeout, no signal.
  const { timeout, signal } = given;
  if (timeout != null && (typeof timeout !== 'number' || !(timeout >= 0)))
    invalid(
      'timeout',
      `options.timeout must be a non-negative number of milliseconds (0 or Infinity: none; null or undefined: the manager's default), got ${inspect(timeout)}`,
    );
  if (
    signal != null &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof (signal as AbortSignal).addEventListener !== 'function' ||
      typeof (signal as AbortSignal).aborted !== 'boolean')
  )
    invalid(
      'signal',
      `options.signal must be an AbortSignal, got ${inspect(signal, { depth: 0 })}`,
    );
  checked.add(given);
}

/** Options objects checked already (a `withCallOptions` view's, passed with each call). */
const checked = new WeakSet<object>();
