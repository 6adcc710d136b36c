/**
 * Map keys beyond primitives: Python's dict takes tuples and frozensets. Here an array is a
 * tuple and a Set a frozenset, both compared by value (a key arrives as a copy, so identity
 * could never match): `[1, 'a']` finds `[1, 'a']`, `new Set([1, 2])` finds `new Set([2, 1])`.
 * Elements are primitives, arrays or Sets, compared as primitive keys are (SameValueZero).
 * A composite key is interned: one `CompositeKey` object per value, used as the JS Map key, so
 * insertion order stays one order across primitive and composite keys.
 */
import { SyncErrorCode, syncError } from '../errors';

/** A primitive key, a tuple (array) of keys or a frozenset (Set) of keys. */
export type MapKey =
  string | number | bigint | boolean | null | undefined | readonly MapKey[] | ReadonlySet<MapKey>;

/** The interned stand-in of one composite key value inside the JS Map. */
export class CompositeKey {
  constructor(
    /** The key as first given (what `keys()` returns). */
    readonly key: readonly MapKey[] | ReadonlySet<MapKey>,
    /** Its canonical text (equal for equal values). */
    readonly text: string,
  ) {}
}

type Primitive = string | number | bigint | boolean | null | undefined;

/** What a JS Map is keyed by here. */
export type Slot = Primitive | CompositeKey;

/** The slot of a composite key not in the Map: no Map holds it. */
export const MISSING: unique symbol = Symbol('missing key');

function kindName(value: unknown): string {
  return typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value;
}

function unhashable(value: unknown): Error {
  return syncError(
    SyncErrorCode.InvalidOption,
    `Map keys must be primitives (string, number, bigint, boolean, null), arrays (tuples) or Sets (frozensets) of them, got ${kindName(value)}`,
  );
}

/** The canonical text of a key value; throws for what cannot be a key. */
function canonical(value: unknown): string {
  if (value === null) return 'l';
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return value ? 'T' : 'F';
    case 'number':
      // SameValueZero: -0 is 0, NaN is NaN.
      return `n${Object.is(value, -0) ? 0 : value}`;
    case 'bigint':
      return `b${value}`;
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        // A hole is an undefined element (`[,]` is a one-element tuple, not `()`).
        const items: string[] = [];
        for (let index = 0; index < value.length; index++) items.push(canonical(value[index]));
        return `(${items.join(',')})`;
      }
      if (Object.prototype.toString.call(value) === '[object Set]') {
        // A JS Set may hold two arrays or Sets of equal value: a frozenset holds them once.
        const items = new Set([...(value as Set<unknown>)].map(canonical));
        return `{${[...items].sort().join(',')}}`;
      }
      throw unhashable(value);
    }
    default:
      throw unhashable(value);
  }
}

function isComposite(key: unknown): key is readonly MapKey[] | ReadonlySet<MapKey> {
  return (
    typeof key === 'object' &&
    key !== null &&
    (Array.isArray(key) || Object.prototype.toString.call(key) === '[object Set]')
  );
}

/** Python-like text of a key, for error messages: `'a'`, `[1, 'a']`, `{1, 2}`. */
export function keyText(key: unknown): string {
  if (typeof key === 'string') return `'${key}'`;
  if (typeof key === 'bigint') return `${key}n`;
  if (Array.isArray(key)) return `[${key.map(keyText).join(', ')}]`;
  if (isComposite(key)) return `{${[...key].map(keyText).join(', ')}}`;
  return String(key);
}

function checkPrimitive(key: unknown): Primitive {
  if (
    key !== null &&
    (typeof key === 'object' || typeof key === 'function' || typeof key === 'symbol')
  )
    throw unhashable(key);
  return key as Primitive;
}

/** The composite keys of one Map, interned by value. */
export class KeyInterner {
  readonly #composites = new Map<string, CompositeKey>();

  /** The slot of `key` if it is in use, else MISSING (for lookups). Throws for a non-key. */
  find(key: unknown): Slot | typeof MISSING {
    if (!isComposite(key)) return checkPrimitive(key);
    return this.#composites.get(canonical(key)) ?? MISSING;
  }

  /** The slot of `key`, interning a new composite key (for stores). Throws for a non-key. */
  intern(key: unknown): Slot {
    if (!isComposite(key)) return checkPrimitive(key);
    const text = canonical(key);
    let slot = this.#composites.get(text);
    if (slot === undefined) {
      slot = new CompositeKey(key, text);
      this.#composites.set(text, slot);
    }
    return slot;
  }

  /** Forgets `slot` (its key left the Map). */
  forget(slot: Slot): void {
    if (slot instanceof CompositeKey) this.#composites.delete(slot.text);
  }

  /** Forgets every composite key. */
  clear(): void {
    this.#composites.clear();
  }
}

/** The key a slot stands for. */
export function keyOf(slot: Slot): MapKey {
  return slot instanceof CompositeKey ? slot.key : slot;
}
