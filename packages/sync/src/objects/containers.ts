/**
 * Map (Python's dict), List, Namespace, Value and typed Array, hosted. Containers may hold
 * proxies: they arrive as server-side proxies (counted for the server) and are released when
 * replaced, removed, or when the container is disposed (they sit in enumerable properties).
 */
import { isDeepStrictEqual } from 'node:util';
import { currentCall } from '@managers/core';
import { hostedValueSymbol, isProxy, tokenOf } from '@managers/proxy';
import { SyncErrorCode, syncError } from '../errors';
import { flagOrOptions } from '../options';
import { LIST_SORT } from '../proxies/option-specs';
import { Holdings, releaseDropped, releaseLater, releaseNow } from './owners';
import { KeyInterner, keyOf, keyText, type MapKey, type Slot } from './map-keys';
import { checkSequence, resolveSlice, sliceIndices, sliceSizeError } from './slices';

/** Python's `==` for stored values: proxies by identity of their object, others by value. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isProxy(a) || isProxy(b)) {
    return (
      isProxy(a) &&
      isProxy(b) &&
      tokenOf(a).id === tokenOf(b).id &&
      tokenOf(a).manager === tokenOf(b).manager
    );
  }
  return a === b || (Number.isNaN(a) && Number.isNaN(b)) || isDeepStrictEqual(a, b);
}

/**
 * Python's dict. Keys: primitives (compared as a JS Map does, SameValueZero), arrays as tuples
 * and Sets as frozensets (compared by value; see `map-keys.ts`).
 */
export class SharedMap {
  /** Values by slot (a primitive key, or the interned stand-in of a composite key). */
  readonly data = new Map<Slot, unknown>();
  readonly #keys = new KeyInterner();
  /** What this map holds (stored, and popped but not yet delivered), for its releases. */
  readonly #holdings = new Holdings(() => [...this.data.values()]);
  #disposed = false;

  /** `entries` as `update()` takes them; null is refused (Python's `dict(None)`: TypeError). */
  constructor(entries?: Iterable<readonly [unknown, unknown]> | Record<string, unknown>) {
    if (entries !== undefined) this.#update(entries, 'Map()');
  }

  get(key: unknown, ...fallback: unknown[]): unknown {
    // First, so that a fallback proxy is released also when the key is refused.
    releaseLater(fallback);
    const slot = this.#keys.find(key);
    if (this.data.has(slot as Slot)) return this.data.get(slot as Slot);
    if (fallback.length > 0) return fallback[0];
    return undefined;
  }

  /** Python's `d[key]`: a missing key is an error. */
  getItem(key: unknown): unknown {
    const slot = this.#keys.find(key);
    if (!this.data.has(slot as Slot)) throw keyNotFound(key);
    return this.data.get(slot as Slot);
  }

  set(key: unknown, value: unknown): void {
    const slot = this.#slotFor(key, value);
    const old = this.data.get(slot);
    this.data.set(slot, value);
    if (old !== value) this.#holdings.release([old]);
  }

  has(key: unknown): boolean {
    return this.data.has(this.#keys.find(key) as Slot);
  }

  delete(key: unknown): boolean {
    const slot = this.#keys.find(key);
    if (!this.data.has(slot as Slot)) return false;
    const old = this.data.get(slot as Slot);
    this.#remove(slot as Slot);
    this.#holdings.release([old]);
    return true;
  }

  /** The slot of `key` (interned); a refused key releases `value`, which is not stored. */
  #slotFor(key: unknown, value: unknown): Slot {
    try {
      return this.#keys.intern(key);
    } catch (error) {
      releaseNow(value);
      throw error;
    }
  }

  #remove(slot: Slot): void {
    this.data.delete(slot);
    this.#keys.forget(slot);
  }

  size(): number {
    return this.data.size;
  }

  keys(): MapKey[] {
    return [...this.data.keys()].map(keyOf);
  }

  values(): unknown[] {
    return [...this.data.values()];
  }

  entries(): [MapKey, unknown][] {
    return [...this.data.entries()].map(([slot, value]) => [keyOf(slot), value]);
  }

  clear(): void {
    const values = [...this.data.values()];
    this.data.clear();
    this.#keys.clear();
    this.#holdings.release(values);
  }

  /**
   * Python's `d.update(other)`: a Map, a plain object, or an iterable of [key, value] pairs
   * (undefined: nothing, as `update()`). Anything else is refused, as Python refuses
   * `update('ab')` (ValueError), `update(5)` and `update(None)` (TypeError).
   */
  update(entries?: Iterable<readonly [unknown, unknown]> | Record<string, unknown>): void {
    if (entries !== undefined) this.#update(entries, 'Map.update()');
  }

  #update(entries: unknown, what: string): void {
    // Every pair is checked before any is stored: a refused update stores nothing and
    // releases the proxies it carried.
    let list: unknown[];
    try {
      list = updatePairs(entries, what);
      for (const pair of list) this.#keys.find((pair as unknown[])[0]);
    } catch (error) {
      releaseNow(entries);
      throw error;
    }
    for (const pair of list) this.set((pair as unknown[])[0], (pair as unknown[])[1]);
  }

  pop(key: unknown, ...fallback: unknown[]): unknown {
    const call = currentCall();
    releaseLater(fallback);
    const slot = this.#keys.find(key);
    if (!this.data.has(slot as Slot)) {
      if (fallback.length > 0) return fallback[0];
      throw keyNotFound(key);
    }
    const value = this.data.get(slot as Slot);
    this.#remove(slot as Slot);
    const original = keyOf(slot as Slot);
    this.#holdings.handOut(call, value, () => this.#giveBack(original, value));
    return value;
  }

  /**
   * A popped value whose reply did not reach its caller comes back under its key, unless the
   * key was set again meanwhile (the newer value wins, as a later `set` would have).
   */
  #giveBack(key: MapKey, value: unknown): void {
    if (this.#disposed) releaseNow(value);
    else if (this.data.has(this.#keys.find(key) as Slot)) this.#holdings.release([value]);
    else this.data.set(this.#keys.intern(key), value);
  }

  /** Removes and returns the last inserted [key, value] pair (Python's popitem). */
  popitem(): [MapKey, unknown] {
    const call = currentCall();
    if (this.data.size === 0)
      throw syncError(SyncErrorCode.KeyNotFound, 'popitem(): the map is empty');
    const last = [...this.data.keys()].at(-1) as Slot;
    const value = this.data.get(last);
    this.#remove(last);
    const key = keyOf(last);
    this.#holdings.handOut(call, value, () => this.#giveBack(key, value));
    return [key, value];
  }

  setdefault(key: unknown, value: unknown = null): unknown {
    const slot = this.#slotFor(key, value);
    if (this.data.has(slot)) {
      releaseNow(value);
      return this.data.get(slot);
    }
    this.data.set(slot, value);
    return value;
  }

  /** A copy as a JS Map (proxies inside come back as the caller's own counted proxies). */
  copy(): Map<MapKey, unknown> {
    return new Map(this.entries());
  }

  /** What `getValue(proxy)` returns (Python's `_getvalue()`): a copy, as `copy()`. */
  [hostedValueSymbol](): Map<MapKey, unknown> {
    return this.copy();
  }

  toString(): string {
    return `Map(${this.data.size})`;
  }

  /** Disposed (the server releases the proxies in `data`): a value given back is released. */
  [Symbol.dispose](): void {
    this.#disposed = true;
  }
}

/**
 * The [key, value] pairs of `entries` for `what` (`Map()` or `Map.update()`): a Map's entries,
 * a plain object's own entries, or the elements of an iterable, each an array of two.
 */
function updatePairs(entries: unknown, what: string): unknown[] {
  const expected = 'a Map, an object or an iterable of [key, value] pairs';
  let list: unknown[];
  if (Object.prototype.toString.call(entries) === '[object Map]') {
    list = [...(entries as Map<unknown, unknown>)];
  } else if (isProxy(entries)) {
    throw syncError(SyncErrorCode.InvalidOption, `${what} takes ${expected}, got a proxy`);
  } else if (
    typeof entries === 'string' ||
    (typeof entries === 'object' &&
      entries !== null &&
      typeof (entries as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function')
  ) {
    list = [...(entries as Iterable<unknown>)];
  } else if (isPlainObject(entries)) {
    list = Object.entries(entries);
  } else {
    // Python: TypeError: 'int' object is not iterable / 'NoneType' object is not iterable.
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what} takes ${expected}, got ${describe(entries)}`,
    );
  }
  list.forEach((pair, index) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      // Python: ValueError: dictionary update sequence element #0 has length 1; 2 is required.
      throw syncError(
        SyncErrorCode.InvalidOption,
        `${what}: element #${index} of the sequence is ${Array.isArray(pair) ? `an array of length ${pair.length}` : describe(pair)}, not a [key, value] pair`,
        { index },
      );
    }
  });
  return list;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function keyNotFound(key: unknown): Error {
  return syncError(SyncErrorCode.KeyNotFound, `key not found: ${keyText(key)}`, {
    key: typeof key === 'string' ? key : keyText(key),
  });
}

function checkIndex(length: number, index: unknown, what: string, insert = false): number {
  if (typeof index !== 'number' || !Number.isInteger(index)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: index must be an integer, got ${String(index)}`,
    );
  }
  const i = index < 0 ? index + length : index;
  if (insert) return Math.min(Math.max(i, 0), length);
  if (i < 0 || i >= length)
    throw syncError(
      SyncErrorCode.IndexRange,
      `${what}: index ${index} out of range (length ${length})`,
    );
  return i;
}

/** {@link checkIndex} for a call storing `value`: a refused index releases it (it is not stored). */
function checkIndexFor(
  value: unknown,
  length: number,
  index: unknown,
  what: string,
  insert = false,
): number {
  try {
    return checkIndex(length, index, what, insert);
  } catch (error) {
    releaseNow(value);
    throw error;
  }
}

/** A bound of Python's `list.index` (`null`/`undefined`: `fallback`), clamped as a slice's. */
function sliceBound(bound: unknown, fallback: number, length: number, what: string): number {
  if (bound === undefined || bound === null) return fallback;
  if (typeof bound !== 'number' || !Number.isInteger(bound)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what} must be an integer, got ${String(bound)}`,
    );
  }
  const at = bound < 0 ? bound + length : bound;
  return Math.min(Math.max(at, 0), length);
}

/** `array.splice(start, count, ...items)` without spreading (no argument-count limit). */
function spliceMany(array: unknown[], start: number, count: number, items: unknown[]): unknown[] {
  const tail = array.splice(start);
  const removed = tail.splice(0, count);
  for (const item of items) array.push(item);
  for (const item of tail) array.push(item);
  return removed;
}

/** Types Python orders together (int, float, bool): JS compares them across types exactly. */
const NUMERIC_KINDS = new Set(['number', 'bigint', 'boolean']);

function compareNumeric(a: number | bigint | boolean, b: number | bigint | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders strings by code point, as Python compares str (JS's `<` compares UTF-16 code units:
 * '\u{1F600}' < '\uFF5E' there, the other way round in Python). Lone surrogates count as the
 * code points they are, as in Python.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const common = Math.min(a.length, b.length);
  let i = 0;
  while (i < common && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === common) return a.length < b.length ? -1 : 1;
  // Differing in the low half of a pair: compare from its high half (the whole code point).
  if (i > 0 && isHighSurrogate(a.charCodeAt(i - 1)) && (isLow(a, i) || isLow(b, i))) i--;
  return a.codePointAt(i)! < b.codePointAt(i)! ? -1 : 1;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(text: string, at: number): boolean {
  const unit = text.charCodeAt(at);
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Python's list. */
export class SharedList {
  readonly data: unknown[];
  /** What this list holds (stored, and popped but not yet delivered), for its releases. */
  readonly #holdings = new Holdings(() => this.data);
  #disposed = false;

  constructor(items?: Iterable<unknown> | null) {
    this.data = items === undefined || items === null ? [] : [...items];
  }

  append(value: unknown): void {
    this.data.push(value);
  }

  extend(values: Iterable<unknown>): void {
    // One push per item: spreading millions of arguments overflows the stack.
    for (const value of values) this.data.push(value);
  }

  insert(index: number, value: unknown): void {
    this.data.splice(checkIndexFor(value, this.data.length, index, 'insert()', true), 0, value);
  }

  get(index: number): unknown {
    return this.data[checkIndex(this.data.length, index, 'list index')];
  }

  set(index: number, value: unknown): void {
    const i = checkIndexFor(value, this.data.length, index, 'list assignment index');
    const old = this.data[i];
    this.data[i] = value;
    this.#holdings.release([old]);
  }

  delete(index: number): void {
    const removed = this.data.splice(checkIndex(this.data.length, index, 'list deletion index'), 1);
    this.#holdings.release(removed);
  }

  pop(index: number = -1): unknown {
    const call = currentCall();
    if (this.data.length === 0) throw syncError(SyncErrorCode.IndexRange, 'pop from empty list');
    const at = checkIndex(this.data.length, index, 'pop index');
    const [value] = this.data.splice(at, 1);
    // A value whose reply did not reach its caller goes back where it was (or at the end).
    this.#holdings.handOut(call, value, () => {
      if (this.#disposed) releaseNow(value);
      else this.data.splice(Math.min(at, this.data.length), 0, value);
    });
    return value;
  }

  remove(value: unknown): void {
    const i = this.data.findIndex((item) => sameValue(item, value));
    releaseNow(value);
    if (i < 0) throw syncError(SyncErrorCode.ValueNotFound, 'list.remove(x): x not in list');
    this.#holdings.release(this.data.splice(i, 1));
  }

  /** Python's `lst.index(x, start, stop)`: the bounds as a slice's (negative from the end). */
  index(value: unknown, start?: number | null, stop?: number | null): number {
    releaseNow(value);
    const length = this.data.length;
    const from = sliceBound(start, 0, length, 'index(): start');
    const to = sliceBound(stop, length, length, 'index(): stop');
    for (let n = from; n < to; n++) if (sameValue(this.data[n], value)) return n;
    throw syncError(SyncErrorCode.ValueNotFound, 'list.index(x): x not in list');
  }

  count(value: unknown): number {
    const n = this.data.filter((item) => sameValue(item, value)).length;
    releaseNow(value);
    return n;
  }

  includes(value: unknown): boolean {
    const found = this.data.some((item) => sameValue(item, value));
    releaseNow(value);
    return found;
  }

  length(): number {
    return this.data.length;
  }

  /** Python's `lst[start:end]`: a copy of a range (negative indices count from the end). */
  slice(start?: number, end?: number): unknown[] {
    return this.data.slice(start, end);
  }

  /** Python's `lst[start:stop:step]` (null/undefined: omitted). */
  getSlice(start?: number | null, stop?: number | null, step?: number | null): unknown[] {
    const slice = resolveSlice(this.data.length, start, stop, step, 'getSlice()');
    return sliceIndices(slice).map((i) => this.data[i]);
  }

  /**
   * Python's `lst[start:stop:step] = values`, in one step: with step 1 the list grows or
   * shrinks to fit; an extended slice needs exactly as many values as it selects. Replaced
   * proxies are released; on error nothing changes and the given values are released.
   */
  setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: unknown,
    step?: number | null,
  ): void {
    let items: unknown[];
    let slice: ReturnType<typeof resolveSlice>;
    try {
      items = checkSequence(values, 'setSlice()');
      slice = resolveSlice(this.data.length, start, stop, step, 'setSlice()');
      if (slice.step !== 1 && items.length !== slice.count) {
        throw sliceSizeError('setSlice()', items.length, slice.count, true);
      }
    } catch (error) {
      releaseNow(values);
      throw error;
    }
    let removed: unknown[];
    if (slice.step === 1) {
      removed = spliceMany(this.data, slice.start, Math.max(0, slice.stop - slice.start), items);
    } else {
      const indices = sliceIndices(slice);
      removed = indices.map((i) => this.data[i]);
      indices.forEach((i, k) => (this.data[i] = items[k]));
    }
    this.#holdings.release(removed);
  }

  /** Python's `del lst[start:stop:step]`; the removed proxies are released. */
  deleteSlice(start?: number | null, stop?: number | null, step?: number | null): void {
    const slice = resolveSlice(this.data.length, start, stop, step, 'deleteSlice()');
    if (slice.count === 0) return;
    let removed: unknown[];
    if (slice.step === 1) removed = spliceMany(this.data, slice.start, slice.count, []);
    else {
      const indices = new Set(sliceIndices(slice));
      removed = [];
      let to = 0;
      for (let from = 0; from < this.data.length; from++) {
        if (indices.has(from)) removed.push(this.data[from]);
        else this.data[to++] = this.data[from];
      }
      this.data.length = to;
    }
    this.#holdings.release(removed);
  }

  reverse(): void {
    this.data.reverse();
  }

  /**
   * Python's `lst.sort()`: numbers, bigints and booleans together (Python's int, float and
   * bool), or strings by code point (as Python compares str); other or mixed types are an
   * error (Python's TypeError).
   */
  sort(order?: unknown): void {
    // A boolean from the proxies; a plain proxy's options object as it stands.
    const reverse = flagOrOptions(order, false, 'List.sort', 'reverse', LIST_SORT);
    const kinds = new Set(this.data.map((item) => typeof item));
    const numeric = [...kinds].every((kind) => NUMERIC_KINDS.has(kind));
    if (!numeric && !(kinds.size === 1 && kinds.has('string'))) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `sort(): cannot order values of types ${[...kinds].join(', ')}`,
      );
    }
    // Descending by the inverted order, not by reversing afterwards: equal items (0 and -0,
    // 1 and true) keep their order either way, as Python's stable sort(reverse=True) keeps it.
    const direction = reverse ? -1 : 1;
    const compare = numeric ? compareNumeric : compareCodePoints;
    this.data.sort((a, b) => direction * compare(a as never, b as never));
  }

  /** Python's `lst *= n`. */
  repeat(n: number): void {
    if (!Number.isInteger(n))
      throw syncError(SyncErrorCode.InvalidOption, `repeat(n): n must be an integer`);
    const copy = [...this.data];
    if (n <= 0) {
      this.clear();
      return;
    }
    for (let i = 1; i < n; i++) for (const item of copy) this.data.push(item);
  }

  clear(): void {
    this.#holdings.release(this.data.splice(0));
  }

  /** A copy as a JS array (proxies inside come back as the caller's own counted proxies). */
  copy(): unknown[] {
    return [...this.data];
  }

  /** What `getValue(proxy)` returns (Python's `_getvalue()`): a copy of the items, as `copy()`. */
  [hostedValueSymbol](): unknown[] {
    return this.copy();
  }

  toString(): string {
    return `List(${this.data.length})`;
  }

  /** Disposed (the server releases the proxies in `data`): a value given back is released. */
  [Symbol.dispose](): void {
    this.#disposed = true;
  }
}

/** Python's `managers.Namespace`: named attributes (copies in, copies out). */
export class Namespace {
  readonly attributes = new Map<string, unknown>();

  /** `initial`: a plain object of attributes (undefined or null: none), as Python's `**kwds`. */
  constructor(initial?: Record<string, unknown> | null) {
    if (initial === undefined || initial === null) return;
    if (!isPlainObject(initial) || isProxy(initial)) {
      releaseNow(initial);
      // Python: Namespace(5) is a TypeError (it takes keyword arguments only).
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Namespace(init): init must be a plain object of attributes such as { a: 1 }, got ${describe(initial)}`,
        { option: 'init' },
      );
    }
    if (Object.prototype.hasOwnProperty.call(initial, '')) {
      releaseNow(initial);
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Namespace(init): attribute names must be non-empty strings, got ''`,
        {
          option: 'init',
        },
      );
    }
    for (const [name, value] of Object.entries(initial)) this.attributes.set(name, value);
  }

  get(name: string): unknown {
    if (!this.attributes.has(name)) {
      throw syncError(SyncErrorCode.NoAttribute, `'Namespace' object has no attribute '${name}'`, {
        name,
      });
    }
    return this.attributes.get(name);
  }

  set(name: string, value: unknown): void {
    if (typeof name !== 'string' || name.length === 0) {
      releaseNow(value);
      throw syncError(
        SyncErrorCode.InvalidOption,
        `attribute names must be non-empty strings, got ${String(name)}`,
      );
    }
    const old = this.attributes.get(name);
    this.attributes.set(name, value);
    if (old !== value) releaseDropped([old], () => [...this.attributes.values()]);
  }

  delete(name: string): void {
    if (!this.attributes.has(name)) {
      throw syncError(SyncErrorCode.NoAttribute, `'Namespace' object has no attribute '${name}'`, {
        name,
      });
    }
    const old = this.attributes.get(name);
    this.attributes.delete(name);
    releaseDropped([old], () => [...this.attributes.values()]);
  }

  has(name: string): boolean {
    return this.attributes.has(name);
  }

  keys(): string[] {
    return [...this.attributes.keys()].sort(compareCodePoints);
  }

  toObject(): Record<string, unknown> {
    return Object.fromEntries([...this.attributes].sort(([a], [b]) => compareCodePoints(a, b)));
  }

  /** What `getValue(proxy)` returns (Python's `_getvalue()`): the attributes, as `toObject()`. */
  [hostedValueSymbol](): Record<string, unknown> {
    return this.toObject();
  }

  toString(): string {
    const parts = [...this.attributes]
      .sort(([a], [b]) => compareCodePoints(a, b))
      .map(([name, value]) => `${name}=${isProxy(value) ? String(value) : JSON.stringify(value)}`);
    return `Namespace(${parts.join(', ')})`;
  }
}

/**
 * Typecodes of Value and Array (Python's array module, minus 'u'; 'l'/'L' are 32-bit here),
 * plus ctypes' 'c' (one byte, as `multiprocessing.Value('c')` / `Array('c')`): its elements
 * are one-byte Uint8Arrays (Python's `b'x'`), its slices and `toArray()` Uint8Arrays (bytes).
 */
const TYPECODES = {
  c: Uint8Array,
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: Int32Array,
  L: Uint32Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
} as const;
export type Typecode = keyof typeof TYPECODES;
type Typed = InstanceType<(typeof TYPECODES)[Typecode]>;

const RANGES: Partial<Record<Typecode, [number | bigint, number | bigint]>> = {
  c: [0, 255],
  b: [-128, 127],
  B: [0, 255],
  h: [-32768, 32767],
  H: [0, 65535],
  i: [-2147483648, 2147483647],
  I: [0, 4294967295],
  l: [-2147483648, 2147483647],
  L: [0, 4294967295],
  q: [-(2n ** 63n), 2n ** 63n - 1n],
  Q: [0n, 2n ** 64n - 1n],
};

function checkTypecode(typecode: unknown): Typecode {
  if (typeof typecode !== 'string' || !Object.prototype.hasOwnProperty.call(TYPECODES, typecode)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `bad typecode ${JSON.stringify(typecode)} (must be c, b, B, h, H, i, I, l, L, q, Q, f or d)`,
    );
  }
  return typecode as Typecode;
}

/** Checks (and converts) one element for `typecode`; errors name the problem. */
export function checkElement(typecode: Typecode, value: unknown): number | bigint {
  if (typecode === 'c') return checkChar(value);
  const range = RANGES[typecode];
  if (typecode === 'f' || typecode === 'd') {
    if (typeof value !== 'number') {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `typecode '${typecode}' holds numbers, got ${describe(value)}`,
      );
    }
    return value;
  }
  const big = typecode === 'q' || typecode === 'Q';
  let v: number | bigint;
  if (typeof value === 'number' && Number.isInteger(value)) v = big ? BigInt(value) : value;
  else if (typeof value === 'bigint') v = big ? value : Number(value);
  else {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `typecode '${typecode}' holds integers, got ${describe(value)}`,
    );
  }
  const [min, max] = range!;
  if (v < min || v > max || (typeof value === 'bigint' && !big && BigInt(v) !== value)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${String(value)} does not fit typecode '${typecode}' (${String(min)} to ${String(max)})`,
    );
  }
  return v;
}

/**
 * Checks `value` for `typecode` and stores it at `index` of `data` (a typed array of that
 * typecode): the conversion of Value and Array alike. The typed array converts as Python's
 * ctypes do: 'f' rounds to float32 (0.1 → 0.10000000149011612, 1e40 → Infinity), integer
 * typecodes store -0 as 0.
 */
function writeElement(typecode: Typecode, data: Typed, index: number, value: unknown): void {
  (data as unknown as (number | bigint)[])[index] = checkElement(typecode, value);
}

/** A 'c' element: a one-byte Uint8Array (Python's `b'x'`) or an integer 0 to 255. */
function checkChar(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) {
    return value;
  }
  if (
    ArrayBuffer.isView(value) &&
    Object.prototype.toString.call(value) === '[object Uint8Array]' &&
    value.byteLength === 1
  ) {
    return (value as Uint8Array)[0]!;
  }
  throw syncError(
    SyncErrorCode.InvalidOption,
    `typecode 'c' holds one byte: a Uint8Array of length 1 or an integer 0 to 255, got ${ArrayBuffer.isView(value) ? `${Object.prototype.toString.call(value).slice(8, -1)} of ${value.byteLength} bytes` : describe(value)}`,
  );
}

/** An element as the caller sees it ('c': a one-byte Uint8Array). */
function outElement(typecode: Typecode, value: number | bigint): number | bigint | Uint8Array {
  return typecode === 'c' ? Uint8Array.of(value as number) : value;
}

/** Elements as the caller sees them ('c': one Uint8Array, Python's bytes). */
function outElements(
  typecode: Typecode,
  values: (number | bigint)[],
): (number | bigint)[] | Uint8Array {
  return typecode === 'c' ? Uint8Array.from(values as number[]) : values;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `string '${value}'`;
  if (value === null) return 'null';
  if (isProxy(value)) return 'a proxy';
  if (typeof value === 'object')
    return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value} ${String(value)}`;
}

function isBytes(value: unknown): value is Uint8Array {
  return (
    ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]'
  );
}

/** Python's repr of bytes: `b'hi\x00'`. */
function charText(bytes: number[]): string {
  const body = bytes
    .map((byte) =>
      byte === 0x27 || byte === 0x5c
        ? `\\${String.fromCharCode(byte)}`
        : byte >= 0x20 && byte < 0x7f
          ? String.fromCharCode(byte)
          : `\\x${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
  return `b'${body}'`;
}

/**
 * Runs `check` for a call carrying `carried`: if it throws, the proxies inside `carried` (a
 * value refused, so not stored) are released at once, as every refused store releases them.
 */
function releasingOnError<T>(carried: unknown, check: () => T): T {
  try {
    return check();
  } catch (error) {
    releaseNow(carried);
    throw error;
  }
}

/**
 * Python's `Value(typecode, value)`; unlike Python's manager Value the value is checked against
 * the typecode, and stored as an Array element is (in a typed array of one element): 'f' is a
 * float32, as `multiprocessing.Value('f', 0.1)` and `Array('f', …)` hold it.
 */
export class Value {
  readonly #typecode: Typecode;
  /** The value, as an Array of this typecode holds its elements. */
  readonly #cell: Typed;

  constructor(typecode: string, ...value: unknown[]) {
    this.#typecode = releasingOnError(value, () => checkTypecode(typecode));
    if (value.length === 0) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Value('${typecode}'): missing the initial value`,
      );
    }
    this.#cell = new TYPECODES[this.#typecode](1);
    releasingOnError(value, () => writeElement(this.#typecode, this.#cell, 0, value[0]));
  }

  get #value(): number | bigint {
    return this.#cell[0]!;
  }

  get(): number | bigint | Uint8Array {
    return outElement(this.#typecode, this.#value);
  }

  set(value: unknown): void {
    releasingOnError(value, () => writeElement(this.#typecode, this.#cell, 0, value));
  }

  /** Adds `delta` in one call (atomic: no lost updates, unlike `set(await get() + 1)`); returns the new value. */
  add(delta: number | bigint = 1): number | bigint {
    if (this.#typecode === 'c') {
      throw syncError(SyncErrorCode.InvalidOption, "add(): Value('c') holds a byte, not a number");
    }
    const integral = this.#typecode !== 'f' && this.#typecode !== 'd';
    const valid =
      typeof delta === 'bigint'
        ? integral
        : typeof delta === 'number' && (integral ? Number.isInteger(delta) : true);
    if (!valid) {
      releaseNow(delta);
      throw syncError(
        SyncErrorCode.InvalidOption,
        `add(delta): typecode '${this.#typecode}' takes ${integral ? 'an integer' : 'a number'} delta, got ${describe(delta)}`,
      );
    }
    const current = this.#value;
    const next = typeof current === 'bigint' ? current + BigInt(delta) : current + Number(delta);
    writeElement(this.#typecode, this.#cell, 0, next);
    return this.#value;
  }

  typecode(): Typecode {
    return this.#typecode;
  }

  /** What `getValue(proxy)` returns (Python's `_getvalue()`): the value, as `get()`. */
  [hostedValueSymbol](): number | bigint | Uint8Array {
    return this.get();
  }

  toString(): string {
    const shown = this.#typecode === 'c' ? charText([this.#value as number]) : String(this.#value);
    return `Value('${this.#typecode}', ${shown})`;
  }
}

/** Python's `Array(typecode, sequence)`: fixed length, typed elements. */
export class SharedArray {
  readonly #typecode: Typecode;
  readonly #data: Typed;

  constructor(typecode: string, init: number | Iterable<unknown>) {
    // A refused init releases the proxies it carried (nothing stores them).
    try {
      this.#typecode = checkTypecode(typecode);
      const Ctor = TYPECODES[this.#typecode];
      if (typeof init === 'number') {
        if (!Number.isInteger(init) || init < 0) {
          throw syncError(
            SyncErrorCode.InvalidOption,
            `Array('${typecode}', n): n must be an integer >= 0`,
          );
        }
        this.#data = new Ctor(init);
        return;
      }
      if (
        init === null ||
        init === undefined ||
        typeof (init as Iterable<unknown>)[Symbol.iterator] !== 'function'
      ) {
        throw syncError(
          SyncErrorCode.InvalidOption,
          `Array('${typecode}', init): init must be a length or a sequence`,
        );
      }
      const values = [...init];
      const data = new Ctor(values.length);
      values.forEach((value, i) => writeElement(this.#typecode, data, i, value));
      this.#data = data;
    } catch (error) {
      releaseNow(init);
      throw error;
    }
  }

  length(): number {
    return this.#data.length;
  }

  get(index: number): number | bigint | Uint8Array {
    return outElement(
      this.#typecode,
      this.#data[checkIndex(this.#data.length, index, 'array index')]!,
    );
  }

  set(index: number, value: unknown): void {
    const i = checkIndexFor(value, this.#data.length, index, 'array assignment index');
    releasingOnError(value, () => writeElement(this.#typecode, this.#data, i, value));
  }

  slice(start?: number, end?: number): (number | bigint)[] | Uint8Array {
    return outElements(this.#typecode, [...this.#data.slice(start, end)]);
  }

  /** Python's `arr[start:stop:step]` (null/undefined: omitted). */
  getSlice(
    start?: number | null,
    stop?: number | null,
    step?: number | null,
  ): (number | bigint)[] | Uint8Array {
    const slice = resolveSlice(this.#data.length, start, stop, step, 'getSlice()');
    return outElements(
      this.#typecode,
      sliceIndices(slice).map((i) => this.#data[i]!),
    );
  }

  /**
   * Python's `arr[start:stop:step] = values`, in one step. The array keeps its length (as
   * `multiprocessing.Array`): `values` must have as many elements as the slice selects, each
   * checked against the typecode before any is written.
   */
  setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: unknown,
    step?: number | null,
  ): void {
    const { slice, converted } = releasingOnError(values, () => {
      const items =
        this.#typecode === 'c' && isBytes(values)
          ? [...values]
          : checkSequence(values, 'setSlice()');
      const slice = resolveSlice(this.#data.length, start, stop, step, 'setSlice()');
      if (items.length !== slice.count) {
        const note = slice.step === 1 ? ' (an Array has a fixed length)' : '';
        throw sliceSizeError('setSlice()', items.length, slice.count, slice.step !== 1, note);
      }
      return { slice, converted: items.map((value) => checkElement(this.#typecode, value)) };
    });
    const data = this.#data as unknown as (number | bigint)[];
    sliceIndices(slice).forEach((i, k) => (data[i] = converted[k]!));
  }

  toArray(): (number | bigint)[] | Uint8Array {
    return outElements(this.#typecode, [...this.#data]);
  }

  /**
   * What `getValue(proxy)` returns (Python's `_getvalue()`, a copy of the array): the elements
   * as `toArray()` gives them (a plain array; `Array('c')`: a Uint8Array, Python's bytes).
   */
  [hostedValueSymbol](): (number | bigint)[] | Uint8Array {
    return this.toArray();
  }

  typecode(): Typecode {
    return this.#typecode;
  }

  toString(): string {
    if (this.#typecode === 'c') return `array('c', ${charText([...(this.#data as Uint8Array)])})`;
    return `array('${this.#typecode}', [${[...this.#data].join(', ')}])`;
  }
}
