/**
 * The options objects of @managers/sync (`acquire({ blocking, timeout, signal })`,
 * `get({ block, timeout, signal })`, `sort({ reverse })`, `Barrier(parties, { … })`,
 * `SharedMemory({ … })`, …), checked in one place, client side and server side alike.
 *
 * A Python-style positional argument (`lock.acquire(false)`, `event.wait(200)`) is not an
 * options object: read as one it would mean "no options", and the call would block for ever.
 * So anything but an object or `undefined` is refused (`ERR_INVALID_OPTION`) with the Node
 * form of the call; an unknown key is refused with the nearest known one ("did you mean"),
 * and a value of the wrong type naming its option. A key set to `undefined` counts as omitted.
 */
import { isProxy } from '@managers/proxy';
import { editDistance } from '@managers/refcount';
import { SyncErrorCode, syncError } from './errors';

/** Checks one option's value: undefined when fine, else what it must be ("a boolean"). */
export type OptionCheck = (value: unknown) => string | undefined;

/** A parameter of the Python method, for the hint that shows a positional call's Node form. */
export interface PythonParameter {
  /** Its Python name (`blocking`). */
  readonly name: string;
  /** The option that takes its place here (`blocking`). */
  readonly option: string;
  /** `flag`: a bool (`False` → `false`); `seconds`: a timeout (`0.2` → `200` ms). */
  readonly kind: 'flag' | 'seconds';
  /** Keyword-only in Python (`sort(*, reverse)`): the hint writes it as a keyword. */
  readonly keyword?: boolean;
}

/** What a method's options object may hold. */
export interface OptionsSpec {
  /** The known options and their checks. */
  readonly keys: { readonly [option: string]: OptionCheck };
  /** Options refused on purpose (when not undefined or null), with the reason. */
  readonly refused?: { readonly [option: string]: string };
  /** An example for the error about a non-object: `{ blocking: false } or { timeout: 200 }`. */
  readonly example: string;
  /** What the argument must be, when more than an object (default: `an object such as …`). */
  readonly expected?: string;
  /** The Python method, for hints: its name, what comes before the options, its parameters. */
  readonly python?: {
    /** Python's name of the method (`wait_for`). */
    readonly method: string;
    /** The Node name, when it differs (`waitFor`). */
    readonly node?: string;
    /** The arguments before the options, in both forms (`item, `). */
    readonly lead?: string;
    readonly parameters: readonly PythonParameter[];
  };
}

/** Checks of option values. */
export const optionChecks = {
  boolean: (value: unknown) => (typeof value === 'boolean' ? undefined : 'a boolean'),
  /** A timeout in ms: a non-negative number (Infinity: for ever) or null (for ever / default). */
  timeout: (value: unknown) =>
    value === null || (typeof value === 'number' && !Number.isNaN(value) && value >= 0)
      ? undefined
      : 'a non-negative number of milliseconds or null',
  signal: (value: unknown) => (isAbortSignal(value) ? undefined : 'an AbortSignal'),
  /** A non-empty string, or null (none). */
  name: (value: unknown) =>
    value === null || (typeof value === 'string' && value.length > 0)
      ? undefined
      : 'a non-empty string',
  array: (value: unknown) => (Array.isArray(value) ? undefined : 'an array'),
  /** Checked by the method itself. */
  any: () => undefined,
} as const satisfies Record<string, OptionCheck>;

/**
 * Checks `options` (the argument of `what`, e.g. `Lock.acquire(options)`) against `spec`;
 * returns it (`{}` for undefined). Throws `ERR_INVALID_OPTION`, its details naming the option.
 */
export function checkOptions<T extends object>(
  what: string,
  options: unknown,
  spec: OptionsSpec,
): Partial<T> {
  if (options === undefined) return {};
  if (!isOptionsObject(options)) {
    const hint = pythonHint(options, spec);
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: options must be ${spec.expected ?? `an object such as ${spec.example}`}, got ${describeValue(options)}${hint === undefined ? '' : ` (${hint})`}`,
      { option: 'options', call: what },
    );
  }
  const given = options as Record<string, unknown>;
  const unknown: string[] = [];
  for (const key of Object.keys(given)) {
    const reason = ownValue(spec.refused, key);
    if (reason !== undefined) {
      if (given[key] === undefined || given[key] === null) continue;
      throw syncError(SyncErrorCode.InvalidOption, `${what}: options.${key} ${reason}`, {
        option: key,
        call: what,
      });
    }
    if (ownValue(spec.keys, key) === undefined) unknown.push(key);
  }
  if (unknown.length > 0) {
    const known = Object.keys(spec.keys);
    const named = unknown.map((key) => {
      const near = nearest(key, known);
      return `'${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`;
    });
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: unknown option${unknown.length > 1 ? 's' : ''} ${named.join(', ')}`,
      {
        option: unknown[0],
        call: what,
        known,
        ...(nearest(unknown[0]!, known) === undefined
          ? {}
          : { suggestion: nearest(unknown[0]!, known) }),
      },
    );
  }
  for (const [key, check] of Object.entries(spec.keys)) {
    const value = given[key];
    if (value === undefined) continue;
    const expected = check(value);
    if (expected !== undefined) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `${what}: options.${key} must be ${expected}, got ${describeValue(value)}`,
        { option: key, call: what },
      );
    }
  }
  return given as Partial<T>;
}

/**
 * An options object: a plain object (or a class instance without a tag of its own), not an
 * array, a proxy, an AbortSignal, a Map, … (each would read as "no options").
 */
function isOptionsObject(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !isProxy(value) &&
    Object.prototype.toString.call(value) === '[object Object]'
  );
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

function ownValue<V>(
  record: { readonly [key: string]: V } | undefined,
  key: string,
): V | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key)
    ? record[key]
    : undefined;
}

/** How a refused argument is shown: `false`, `200`, `'yes'`, `an array`, `an AbortSignal`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `'${shown}'`;
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return String(value);
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (isProxy(value)) return 'a proxy';
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  return tag === 'Object' ? 'an object' : `${/^[AEIOU]/.test(tag) ? 'an' : 'a'} ${tag}`;
}

/** "Python's acquire(False) is acquire({ blocking: false })", for a positional bool or number. */
function pythonHint(value: unknown, spec: OptionsSpec): string | undefined {
  const python = spec.python;
  if (python === undefined) return undefined;
  const lead = python.lead ?? '';
  let kind: PythonParameter['kind'];
  let pythonValue: string;
  if (typeof value === 'boolean') {
    kind = 'flag';
    pythonValue = value ? 'True' : 'False';
  } else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    kind = 'seconds';
    pythonValue = String(value / 1000);
  } else {
    return undefined;
  }
  const index = python.parameters.findIndex((parameter) => parameter.kind === kind);
  if (index < 0) return undefined;
  const parameter = python.parameters[index]!;
  const positional = index === 0 && parameter.keyword !== true;
  const pythonCall = `${python.method}(${lead}${positional ? '' : `${parameter.name}=`}${pythonValue})`;
  const nodeCall = `${python.node ?? python.method}(${lead}{ ${parameter.option}: ${String(value)} })`;
  return `Python's ${pythonCall} is ${nodeCall}${kind === 'seconds' ? ': timeouts are in milliseconds' : ''}`;
}

/**
 * The known option nearest to `key`: the same but for case, at most one edit (two for longer
 * names) away, or one a prefix of the other (`block` / `blocking`).
 */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    let distance = editDistance(lower, other);
    const limit = Math.max(1, Math.floor(Math.max(lower.length, other.length) / 4));
    const prefix =
      Math.min(lower.length, other.length) >= 4 &&
      (other.startsWith(lower) || lower.startsWith(other));
    if (distance > limit && !prefix) continue;
    if (prefix) distance = Math.min(distance, limit);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Checks `waitFor`'s predicate (`what`: `Condition.waitFor(predicate, options)`). */
export function checkPredicate(predicate: unknown, what: string): void {
  if (typeof predicate !== 'function') {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: predicate must be a function (it runs in the caller), got ${describeValue(predicate)}`,
      { option: 'predicate', call: what },
    );
  }
}

/**
 * A flag as the @managers/sync proxies send it to the server (`acquire`'s `blocking`, `get`'s
 * `block`): a boolean, or undefined for `fallback`. `what` names the method (`Lock.acquire`).
 */
export function checkFlag(value: unknown, fallback: boolean, what: string, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw syncError(
    SyncErrorCode.InvalidOption,
    `${what}(${name}): ${name} must be a boolean, got ${describeValue(value)}`,
    { option: name, call: what },
  );
}

/**
 * A flag a plain method of the server takes (`sort`'s `reverse`, `shutdown`'s `immediate`):
 * a boolean or undefined, as the @managers/sync proxies send it, or the options object a plain
 * proxy sends as it stands (`{ reverse: true }`), checked against `spec`.
 */
export function flagOrOptions(
  value: unknown,
  fallback: boolean,
  what: string,
  name: string,
  spec: OptionsSpec,
): boolean {
  if (typeof value !== 'object' || value === null) return checkFlag(value, fallback, what, name);
  const options = checkOptions<Record<string, boolean>>(`${what}(options)`, value, spec);
  return options[name] ?? fallback;
}
