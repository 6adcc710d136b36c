import { inspect } from 'node:util';
import { closestName, createManagerError, ErrorCode } from '@managers/refcount';

/**
 * One option's check: `undefined` when `value` is acceptable, else what it must be
 * (`'must be a non-negative number'`). Absent options (`undefined`) are not checked.
 */
export type OptionCheck = (value: unknown) => string | undefined;

/** Checks of common option shapes. */
export const check = {
  nonEmptyString: ((value) =>
    typeof value === 'string' && value.length > 0
      ? undefined
      : 'must be a non-empty string') as OptionCheck,
  boolean: ((value) =>
    typeof value === 'boolean' ? undefined : 'must be a boolean') as OptionCheck,
  nonNegativeNumber: ((value) =>
    typeof value === 'number' && value >= 0
      ? undefined
      : 'must be a non-negative number') as OptionCheck,
  positiveNumber: ((value) =>
    typeof value === 'number' && value > 0
      ? undefined
      : 'must be a positive number') as OptionCheck,
  nonNegativeInteger: ((value) =>
    Number.isInteger(value) && (value as number) >= 0
      ? undefined
      : 'must be a non-negative integer') as OptionCheck,
  array: ((value) => (Array.isArray(value) ? undefined : 'must be an array')) as OptionCheck,
  stringArray: ((value) =>
    Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0)
      ? undefined
      : 'must be an array of non-empty strings') as OptionCheck,
  stringRecord: ((value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([key, item]) => key.length > 0 && typeof item === 'string' && item.length > 0,
    )
      ? undefined
      : 'must be an object whose values are non-empty strings') as OptionCheck,
};

/** Options whose values are secrets: an error says what is wrong with them, never what they are. */
const SECRET_OPTIONS = new Set(['authkey', 'tls']);

/**
 * Validates an options object against `checks` (one per known option) and throws an
 * `ERR_INVALID_OPTION` error naming the first bad option: `unknown option 'calable' (did you
 * mean 'callable'?)` or `options.timeout is invalid: must be a non-negative number, got -1`.
 * `context` prefixes the message (`register('Counter'): `); `details` go into the error.
 */
export function validateOptions(
  options: unknown,
  checks: Readonly<Record<string, OptionCheck>>,
  context = '',
  details: Record<string, unknown> = {},
): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${context}options must be an object, got ${inspect(options)}`,
      { details: { ...details, option: 'options' } },
    );
  }
  for (const key of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(checks, key)) continue;
    const suggestion = closestName(key, Object.keys(checks));
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${context}unknown option '${key}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`,
      { details: { ...details, option: 'options', unknown: key, suggestion } },
    );
  }
  for (const [key, validate] of Object.entries(checks)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const problem = validate(value);
    if (problem === undefined) continue;
    // Secrets (an authkey, a TLS private key) are never printed, only their kind.
    const shown = SECRET_OPTIONS.has(key)
      ? `a secret of type ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value} (not shown)`
      : inspect(value, { depth: 1, breakLength: Infinity });
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${context}options.${key} is invalid: ${problem}, got ${shown}`,
      { details: { ...details, option: key } },
    );
  }
}
